import { isRunwardenError } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConnectionOptions, releasableHandle } from "../src/connection.js";

const schema = z.strictObject({ port: z.number().int().default(22), mode: z.enum(["a", "b"]).optional() });

describe("parseConnectionOptions", () => {
  it("returns the parsed options with defaults when the options are valid", () => {
    expect(parseConnectionOptions(schema, { name: "web-1", options: { mode: "a" } }, "Acme")).toEqual({
      port: 22,
      mode: "a",
    });
    expect(parseConnectionOptions(schema, { name: "web-1", options: {} }, "Acme")).toEqual({ port: 22 });
  });

  it("throws REJECTED listing every issue when the options are invalid", () => {
    let error: unknown;
    try {
      parseConnectionOptions(schema, { name: "web-1", options: { port: "x", extra: 1 } }, "Acme");
    } catch (e) {
      error = e;
    }
    if (!isRunwardenError(error)) throw new Error("expected a RunwardenError");
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(error.message).toBe("the Acme options of connection web-1 are invalid");
    const issues = error.details?.issues as { path: string; message: string }[];
    expect(issues.map((i) => i.path).sort()).toEqual(["", "port"]);
  });
});

describe("releasableHandle", () => {
  it("runs steps until released, then rejects them without running", async () => {
    const ran: string[] = [];
    const handle = releasableHandle("Acme", async (request) => {
      ran.push(request.command);
      return { exitCode: 0, stdout: "ok\n", stderr: "" };
    });
    const request = {
      command: "uptime",
      language: "sh",
      readOnly: false,
      signal: new AbortController().signal,
    };
    expect(await handle.exec(request)).toEqual({ exitCode: 0, stdout: "ok\n", stderr: "" });
    await handle.release();
    await expect(handle.exec(request)).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      message: "exec() on a released Acme handle",
    });
    expect(ran).toEqual(["uptime"]);
  });
});
