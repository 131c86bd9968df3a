import { defineConnector, type RemoteTicketRef, type TicketingConnector } from "@runwarden/core";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Harness, setup } from "../helpers.js";

/** A ticketing tool in memory: what the sync wrote to it. */
function stubTicketing() {
  const written = {
    notes: [] as { ref: string; text: string }[],
    statuses: [] as { ref: string; status?: string }[],
  };
  const connector = defineConnector({
    kind: "ticketing",
    name: "stub",
    version: "0.1.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: ["create", "update", "comment"],
    create: (): TicketingConnector => ({
      create: async (ticket): Promise<RemoteTicketRef> => ({
        externalId: `S-${ticket.id}`,
        url: `https://tool.example/tickets/S-${ticket.id}`,
      }),
      update: async (ref, change) => {
        written.statuses.push({ ref: ref.externalId, ...(change.status ? { status: change.status } : {}) });
      },
      comment: async (ref, text) => {
        written.notes.push({ ref: ref.externalId, text });
      },
    }),
  });
  return { connector, written };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("GET /tickets/{id}/remote", () => {
  it("shows the remote ticket of a ticket that came from the synced tool: its link, the notes and the state written back", async () => {
    const stub = stubTicketing();
    h = await setup({ engine: { connectors: [stub.connector], sync: { ticketing: "stub", manual: true } } });
    const { ticket } = await h.engine.tickets.ingest({
      title: "Disk full on db-1",
      description: "/var at 100%",
      severity: "high",
      source: "stub",
      externalId: "R-1",
      metaData: { url: "https://tool.example/tickets/R-1" },
    });
    await h.engine.tickets.setStatus(ticket.id, "resolved", "fixed by hand");
    await h.engine.sync!.settled();
    await h.engine.sync!.flush();
    expect(stub.written.notes.length).toBeGreaterThan(0);

    const { status, body } = await h.json("GET", `/tickets/${ticket.id}/remote`, { token: h.tokens.viewer });
    expect(status).toBe(200);
    expect(body.items).toHaveLength(1);
    const [remote] = body.items;
    expect(remote).toMatchObject({
      target: "stub",
      external_id: "R-1",
      url: "https://tool.example/tickets/R-1",
      state: "resolved",
    });
    const notes = remote.writes.filter((w: { kind: string }) => w.kind === "comment");
    expect(notes.map((n: { text: string }) => n.text)).toEqual(stub.written.notes.map((n) => n.text));
    expect(notes.every((n: { delivery: string }) => n.delivery === "delivered")).toBe(true);
  });

  it("shows the remote ticket the sync created for a ticket from elsewhere, with the link the connector gave", async () => {
    const stub = stubTicketing();
    h = await setup({
      engine: { connectors: [stub.connector], sync: { ticketing: "stub", manual: true, scope: "all" } },
    });
    const { ticket } = await h.engine.tickets.ingest({
      title: "High CPU on web-1",
      severity: "high",
      source: "demo",
    });
    await h.engine.sync!.settled();
    await h.engine.sync!.flush();
    const { body } = await h.json("GET", `/tickets/${ticket.id}/remote`, { token: h.tokens.viewer });
    expect(body.items[0]).toMatchObject({
      target: "stub",
      external_id: `S-${ticket.id}`,
      url: `https://tool.example/tickets/S-${ticket.id}`,
    });
    expect(body.items[0].writes.length).toBeGreaterThan(0);
  });

  it("never returns a link that is not http(s), and lists nothing without a synced tool", async () => {
    const stub = stubTicketing();
    h = await setup({ engine: { connectors: [stub.connector], sync: { ticketing: "stub", manual: true } } });
    const { ticket } = await h.engine.tickets.ingest({
      title: "Hostile link",
      severity: "low",
      source: "stub",
      externalId: "R-2",
      metaData: { url: "javascript:alert(1)" },
    });
    const { body } = await h.json("GET", `/tickets/${ticket.id}/remote`);
    expect(body.items[0]).toMatchObject({ external_id: "R-2", url: null });
    await h.close();

    h = await setup();
    const plain = await h.engine.tickets.ingest({ title: "Local", severity: "low", source: "demo" });
    expect((await h.json("GET", `/tickets/${plain.ticket.id}/remote`)).body).toEqual({ items: [] });
  });
});
