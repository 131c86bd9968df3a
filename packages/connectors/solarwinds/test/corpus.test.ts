/**
 * The payload corpus (test/fixtures/corpus.json, each case with its source) and the shared
 * fixtures: every webhook body and every SWIS row becomes the ticket the case expects, and the
 * connector's Invoke request has the shape of the shared Acknowledge sample.
 */
import { type FakeServer, fakeServer } from "@runwarden/connector-testkit";
import { type MonitoringConnector, TicketInput } from "@runwarden/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import solarwinds, { QueryResponse } from "../src/index.js";
import { activeAlerts } from "../src/internal/queries.js";
import { alertTicket, collect, fixture, testContext, webhookRequest } from "./support.js";

interface Expectation {
  fingerprint: string;
  resolved?: boolean;
  severity: string;
  title?: string;
  triggeredAt?: string;
  acknowledged?: boolean;
  host?: string | null;
}
const corpus = fixture<{
  webhooks: { name: string; source: string; body: Record<string, unknown>; expect: Expectation }[];
  activeAlertRows: { name: string; source: string; row: Record<string, unknown>; expect: Expectation }[];
}>("corpus.json");
const sharedQuery = fixture<{ response: { body: unknown } }>("solarwinds-query-active-alerts.json");
const sharedAck = fixture<{ request: { url: string; body: unknown }; response: { body: unknown } }>(
  "solarwinds-invoke-acknowledge.json",
);

let server: FakeServer;
beforeEach(async () => {
  server = await fakeServer();
});
afterEach(async () => {
  await server.close();
});

function create(): MonitoringConnector {
  return solarwinds.create(
    solarwinds.configSchema.parse({
      webhookAuth: { type: "none" },
      url: server.url,
      username: "svc",
      password: "corpus-password-123",
    }),
    testContext(),
  ) as MonitoringConnector;
}

describe("webhook corpus", () => {
  for (const item of corpus.webhooks) {
    it(`${item.name} (${item.source.split(";")[0]})`, async () => {
      const { tickets } = await create().parseWebhook!(webhookRequest(item.body));
      expect(tickets).toHaveLength(1);
      const ticket = tickets[0]!;
      expect(TicketInput.safeParse(ticket).success).toBe(true);
      expect(ticket).toMatchObject({
        fingerprint: item.expect.fingerprint,
        externalId: item.expect.fingerprint,
        resolved: item.expect.resolved,
        severity: item.expect.severity,
        ...(item.expect.title ? { title: item.expect.title } : {}),
      });
    });
  }
});

describe("SWIS row corpus", () => {
  for (const item of corpus.activeAlertRows) {
    it(`${item.name}`, async () => {
      server.route("POST /SolarWinds/InformationService/v3/Json/Query", (req) => {
        const { query } = req.json<{ query: string }>();
        return { body: { totalRows: 1, results: query.startsWith(activeAlerts) ? [item.row] : [] } };
      });
      const [ticket, ...rest] = await collect(create().pull!({ signal: AbortSignal.timeout(5_000) }));
      expect(rest).toEqual([]);
      expect(TicketInput.safeParse(ticket).success).toBe(true);
      expect(ticket).toMatchObject({
        fingerprint: item.expect.fingerprint,
        severity: item.expect.severity,
        title: item.expect.title,
        resolved: false,
        metaData: {
          triggeredAt: item.expect.triggeredAt,
          acknowledged: item.expect.acknowledged,
          ...(item.expect.host ? { host: item.expect.host } : {}),
        },
      });
      if (item.expect.host === null) expect(ticket!.metaData).not.toHaveProperty("host");
    });
  }
});

describe("shared fixtures", () => {
  it("reads the shared Query response as a documented { totalRows, results } answer", () => {
    expect(QueryResponse.safeParse(sharedQuery.response.body).success).toBe(true);
  });

  it("sends Acknowledge with the shared sample's positional shape and accepts its answer", async () => {
    server.route("POST /SolarWinds/InformationService/v3/Json/Query", () => ({
      body: { results: [{ AlertActiveID: 5123, Acknowledged: null, AlertNote: null }] },
    }));
    server.route("POST /SolarWinds/InformationService/v3/Json/Invoke/:entity/:verb", () => ({
      body: sharedAck.response.body,
    }));
    await create().acknowledge!(alertTicket(871), { signal: AbortSignal.timeout(5_000) });
    const invoke = server.requests.find((r) => r.path.includes("/Invoke/"))!;
    expect(invoke.path).toBe(new URL(sharedAck.request.url).pathname);
    const sent = invoke.json<unknown[]>();
    const sample = sharedAck.request.body as unknown[];
    expect(sent.map((a) => (Array.isArray(a) ? "int[]" : typeof a))).toEqual(
      sample.map((a) => (Array.isArray(a) ? "int[]" : typeof a)),
    );
    expect(sent[0]).toEqual(sample[0]);
  });
});
