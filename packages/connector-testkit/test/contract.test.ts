import { defineConnector, rwError } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestContext, testConnector } from "../src/index.js";

// A well-behaved in-memory infrastructure connector: the suite must pass on it.
const memory = defineConnector({
  kind: "infrastructure",
  name: "memory-shell",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.strictObject({ greeting: z.string().default("hi") }),
  capabilities: ["run-command", "health-check", "describe", "stream-output", "timeout"],
  connectionTypes: ["memory"],
  create(config, ctx) {
    const refuse = (host: string | null) =>
      rwError("RW_ERR_CONNECTOR_UNREACHABLE", `nothing answers on ${host}`, {
        details: { reason: "refused" },
      });
    return {
      async open(connection, { signal }) {
        if (signal.aborted) throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted");
        if (connection.targetHost !== "memory") {
          ctx.logger.warn({ host: connection.targetHost }, "memory open refused");
          throw refuse(connection.targetHost);
        }
        return {
          async exec(request) {
            if (request.signal.aborted) throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted");
            if (request.command.startsWith("sleep")) {
              const timedOut = await new Promise<boolean>((resolve, reject) => {
                const timer = setTimeout(() => resolve(false), 10_000);
                const limit = request.timeoutMs && setTimeout(() => resolve(true), request.timeoutMs);
                request.signal.addEventListener("abort", () => {
                  clearTimeout(timer);
                  clearTimeout(limit);
                  reject(rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted"));
                });
              });
              if (timedOut) return { exitCode: null, stdout: "", stderr: "", timedOut: true };
            }
            const stdout = `${config.greeting} ${request.command}\n`;
            request.onOutput?.("stdout", stdout);
            return { exitCode: 0, stdout, stderr: "" };
          },
          async release() {},
        };
      },
      async healthCheck(connection, { signal }) {
        if (signal.aborted || connection.targetHost !== "memory")
          return { ok: false, latencyMs: 0, reason: "refused" };
        return { ok: true, latencyMs: 0 };
      },
      describe: (request, connection) => `memory ${connection.name}: ${request.command}`,
    };
  },
});

const live = {
  id: 1,
  name: "mem",
  connectionType: "memory",
  targetHost: "memory",
  targetPort: null,
  targetService: null,
  environment: "test",
  options: {},
  credential: {
    id: 1,
    name: "c",
    credentialType: "memory",
    environment: "test",
    value: { password: "live-secret-xyz" },
    secrets: { password: "live-secret-xyz" },
  },
};

testConnector(memory, {
  config: {},
  connection: live,
  slowRequest: { command: "sleep 10" },
  request: { command: "echo" },
});

// A monitoring connector exercised through operations.
const pager = defineConnector({
  kind: "monitoring",
  name: "fake-pager",
  version: "0.2.0",
  sdk: ">=0.1.0 <1",
  configSchema: z.object({ url: z.string().url(), apiKey: z.string() }),
  capabilities: ["pull"],
  create: (config) => ({
    async *pull({ signal }) {
      if (signal.aborted) throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted");
      const alerts: never[] = [];
      if (alerts.length === 0)
        throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot reach ${new URL(config.url).host}`);
      yield* alerts;
    },
  }),
});

testConnector(pager, {
  config: { url: "https://pager.invalid", apiKey: "pager-secret-123" },
  secrets: ["pager-secret-123"],
  operations: {
    pull: async (instance, { signal }) => {
      const iterator = (instance as { pull(o: { signal: AbortSignal }): AsyncIterable<unknown> }).pull({
        signal,
      });
      for await (const _ of iterator) break;
    },
  },
});

describe("createTestContext", () => {
  it("captures log lines and aborts its signal on demand", () => {
    const test = createTestContext();
    test.ctx.logger.info({ step: 1 }, "hello");
    expect(JSON.parse(test.logs[0]!)).toMatchObject({ step: 1, msg: "hello" });
    test.abort();
    expect(test.ctx.signal.aborted).toBe(true);
  });
});
