/**
 * The payload corpus (test/fixtures/corpus.json, each case with its source) and the shared
 * fixtures: every webhook body and every listAlarms item becomes the ticket the case expects, and
 * the connector's acknowledge request matches the shared acknowledgeAlarm sample.
 */
import { type FakeServer, fakeServer } from "@runwarden/connector-testkit";
import { type MonitoringConnector, TicketInput } from "@runwarden/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import opmanager from "../src/index.js";
import { alarmTicket, collect, fixture, testContext, webhookRequest } from "./support.js";

interface Expectation {
  fingerprint: string;
  resolved: boolean;
  severity: string;
  title?: string;
  host?: string;
  acknowledgedBy?: string | null;
}
const corpus = fixture<{
  webhooks: { name: string; source: string; body: Record<string, unknown>; expect: Expectation }[];
  alarms: { name: string; source: string; alarm: Record<string, unknown>; expect: Expectation }[];
}>("corpus.json");
const sharedList = fixture<{ request: { url: string }; response: { body: unknown[] } }>(
  "opmanager-list-alarms.json",
);
const sharedAck = fixture<{ request: { method: string; url: string }; response: { body: unknown } }>(
  "opmanager-acknowledge-alarm.json",
);
const API_KEY = "corpus-api-key-0123";

let server: FakeServer;
beforeEach(async () => {
  server = await fakeServer();
});
afterEach(async () => {
  await server.close();
});

function create(): MonitoringConnector {
  return opmanager.create(
    opmanager.configSchema.parse({ webhookAuth: { type: "none" }, url: server.url, apiKey: API_KEY }),
    testContext(),
  ) as MonitoringConnector;
}

describe("webhook corpus", () => {
  for (const item of corpus.webhooks) {
    it(`${item.name}`, async () => {
      const { tickets } = await create().parseWebhook!(webhookRequest(item.body));
      expect(TicketInput.safeParse(tickets[0]).success).toBe(true);
      expect(tickets).toEqual([
        expect.objectContaining({
          fingerprint: item.expect.fingerprint,
          externalId: item.expect.fingerprint,
          resolved: item.expect.resolved,
          severity: item.expect.severity,
          ...(item.expect.title ? { title: item.expect.title } : {}),
        }),
      ]);
    });
  }
});

describe("listAlarms corpus", () => {
  for (const item of corpus.alarms) {
    it(`${item.name}`, async () => {
      server.route("GET /api/json/alarm/listAlarms", () => ({ body: [item.alarm] }));
      const [ticket] = await collect(create().pull!({ signal: AbortSignal.timeout(5_000) }));
      expect(TicketInput.safeParse(ticket).success).toBe(true);
      expect(ticket).toMatchObject({
        fingerprint: item.expect.fingerprint,
        resolved: item.expect.resolved,
        severity: item.expect.severity,
        metaData: { host: item.expect.host, acknowledgedBy: item.expect.acknowledgedBy },
      });
    });
  }
});

describe("shared fixtures", () => {
  it("pulls the shared listAlarms sample with its request's path and parameters", async () => {
    server.route("GET /api/json/alarm/listAlarms", () => ({ body: sharedList.response.body }));
    const tickets = await collect(create().pull!({ signal: AbortSignal.timeout(5_000) }));
    expect(tickets.map((t) => t.fingerprint)).toEqual(["5_DiskUtilization"]);
    const sample = new URL(sharedList.request.url);
    expect(server.requests[0]!.path).toBe(sample.pathname);
    expect(server.requests[0]!.query.get("alertType")).toBe(sample.searchParams.get("alertType"));
  });

  it("acknowledges as the shared sample does and accepts its answer", async () => {
    server.route("GET /api/json/alarm/listAlarms", () => ({ body: sharedList.response.body }));
    server.route("POST /api/json/alarm/addNotes", () => ({ body: { result: { message: "Notes added" } } }));
    server.route("POST /api/json/alarm/acknowledgeAlarm", () => ({ body: sharedAck.response.body }));
    await create().acknowledge!(alarmTicket("5_DiskUtilization"), { signal: AbortSignal.timeout(5_000) });
    const ack = server.requests.find((r) => r.path.endsWith("/acknowledgeAlarm"))!;
    const sample = new URL(sharedAck.request.url);
    expect([ack.method, ack.path, Object.fromEntries(ack.query)]).toEqual([
      sharedAck.request.method,
      sample.pathname,
      Object.fromEntries(sample.searchParams),
    ]);
    expect(ack.headers.apikey).toBe(API_KEY);
  });
});
