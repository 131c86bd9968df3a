import { describe, expect, it } from "vitest";
import { createEngine, isRunwardenError } from "../src/index.js";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return err.code;
    throw err;
  }
  return "no error";
}

describe("a ticket's connection_config set after it arrived (connector guide, Option 2)", () => {
  it("sets the guide's body on an existing ticket, audited, and removes it with null", async () => {
    const engine = await createEngine();
    const { ticket } = await engine.tickets.ingest(
      { title: "Disk full on web-01", metaData: { team: "sre" } },
      { autoExecute: false },
    );
    const config = {
      connector_type: "ssh",
      host: "192.168.1.100",
      port: 22,
      username: "admin",
      credential_id: 5,
    };
    const updated = await engine.tickets.setConnectionConfig(ticket.id, config, {
      actor: "alice",
      origin: "test",
    });
    expect(updated.metaData).toEqual({ team: "sre", connection_config: config });
    const audit = await engine.audit.list();
    expect(audit.items[0]).toMatchObject({ action: "ticket.connection_config_set", actor: "alice" });
    const removed = await engine.tickets.setConnectionConfig(ticket.id, null);
    expect(removed.metaData).toEqual({ team: "sre" });
    await engine.close();
  });

  it("refuses a secret on the ticket and a malformed field, naming each", async () => {
    const engine = await createEngine();
    const { ticket } = await engine.tickets.ingest({ title: "x" }, { autoExecute: false });
    const err = await engine.tickets
      .setConnectionConfig(ticket.id, { host: "db", password: "hunter22", port: 70_000 })
      .catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_INPUT_INVALID");
    const fields = (err as { details: { fields: { field: string }[] } }).details.fields.map((f) => f.field);
    expect(fields.sort()).toEqual([
      "meta_data.connection_config.password",
      "meta_data.connection_config.port",
    ]);
    expect(JSON.stringify(err)).not.toContain("hunter22");
    expect(await codeOf(engine.tickets.setConnectionConfig(424242, { host: "db" }))).toBe(
      "RW_ERR_STORAGE_NOT_FOUND",
    );
    await engine.close();
  });
});
