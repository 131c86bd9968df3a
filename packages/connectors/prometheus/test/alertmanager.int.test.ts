/**
 * Against a real Alertmanager (scripts/services/alertmanager.sh starts one on 127.0.0.1:9093 whose
 * webhook receiver points at 127.0.0.1:18080 with a bearer token kept in a file): an alert posted
 * to Alertmanager comes back through its own webhook, is parsed into a ticket, shows up in pull,
 * is silenced by acknowledge and unsilenced by resolve; its resolution takes the same path.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createTestContext } from "@runwarden/connector-testkit";
import type { MonitoringConnector, Ticket, TicketInput, WebhookRequest } from "@runwarden/core";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prometheus from "../src/index.js";
import { ticket as storedTicket } from "./support.js";

const AM = process.env.RUNWARDEN_AM_URL ?? "http://127.0.0.1:9093";
const TOKEN_FILE = process.env.RUNWARDEN_AM_TOKEN_FILE ?? "/tmp/runwarden-alertmanager/webhook-token";
const RECEIVER_PORT = 18080;
const RECEIVER_PATH = "/api/v1/tickets/webhook/prometheus";

let server: Server;
let token: string;
const received: WebhookRequest[] = [];
const waiters: (() => void)[] = [];

async function am(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await request(`${AM}${path}`, {
    method: method as "GET",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

/** Waits for a webhook whose alerts include `alertname` with `status`. */
async function webhookFor(alertname: string, status: "firing" | "resolved", timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = received.find((r) => {
      const body = r.body as { alerts?: { status: string; labels: Record<string, string> }[] };
      return body.alerts?.some((a) => a.labels.alertname === alertname && a.status === status);
    });
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${status} webhook for ${alertname} within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function create(config: Record<string, unknown> = {}): MonitoringConnector {
  const parsed = prometheus.configSchema.parse({
    webhookAuth: { type: "bearer", token },
    url: AM,
    silence: { createdBy: "runwarden-it" },
    ...config,
  });
  return prometheus.create(parsed, createTestContext().ctx) as MonitoringConnector;
}

function asTicket(input: TicketInput, id: number): Ticket {
  return storedTicket({
    id,
    title: input.title,
    externalId: input.externalId ?? null,
    fingerprint: `prometheus:${input.fingerprint}`,
    metaData: input.metaData ?? {},
  });
}

beforeAll(async () => {
  const ready = await request(`${AM}/-/ready`).then(
    async (res) => {
      await res.body.dump();
      return res.statusCode === 200;
    },
    () => false,
  );
  if (!ready) throw new Error(`Alertmanager does not answer at ${AM}: run scripts/services/alertmanager.sh`);
  token = readFileSync(TOKEN_FILE, "utf8").trim();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === RECEIVER_PATH) {
        const rawBody = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
        );
        received.push({ headers, rawBody, body: JSON.parse(rawBody) });
        for (const wake of waiters.splice(0)) wake();
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(RECEIVER_PORT, "127.0.0.1", () => resolve());
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

describe("prometheus against a real Alertmanager", () => {
  const alertname = `RunwardenIT_${randomUUID().slice(0, 8)}`;
  const labels = {
    alertname,
    instance: "web-07:9100",
    job: "node",
    severity: "critical",
    env: "it",
    service: "checkout",
  };
  const annotations = {
    summary: `Checkout is down on web-07 (${alertname})`,
    description: "5xx rate over 50%",
  };
  let firing: TicketInput;

  it("turns Alertmanager's own webhook into a verified ticket", async () => {
    const started = performance.now();
    const posted = await am("POST", "/api/v2/alerts", [
      {
        labels,
        annotations,
        startsAt: new Date().toISOString(),
        generatorURL: "http://127.0.0.1:9090/graph",
      },
    ]);
    expect(posted.status).toBe(200);
    const hook = await webhookFor(alertname, "firing");
    const latencyMs = Math.round(performance.now() - started);
    expect(hook.headers["user-agent"]).toMatch(/^Alertmanager\//);

    const connector = create();
    expect(await connector.verifyWebhook!(hook)).toBe(true);
    expect(
      await create({ webhookAuth: { type: "bearer", token: `${token}-wrong` } }).verifyWebhook!(hook),
    ).toBe(false);

    const { tickets, warnings } = await connector.parseWebhook!(hook);
    expect(warnings).toEqual([]);
    firing = tickets.find((t) => t.metaData?.alertname === alertname)!;
    expect(firing).toMatchObject({
      title: annotations.summary,
      description: annotations.description,
      severity: "critical",
      environment: "it",
      service: "checkout",
      source: "prometheus",
      resolved: false,
    });
    expect(firing.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(firing.metaData).toMatchObject({ host: "web-07", endsAt: null, receiver: "runwarden" });
    console.log(`alertmanager webhook arrived ${latencyMs} ms after the alert was posted`);
  });

  it("pulls the alert from GET /api/v2/alerts with the same fingerprint", async () => {
    const pulled: TicketInput[] = [];
    for await (const t of create({ pull: { filter: [`alertname="${alertname}"`] } }).pull!({
      signal: AbortSignal.timeout(10_000),
    })) {
      pulled.push(t);
    }
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({
      fingerprint: firing.fingerprint,
      title: firing.title,
      severity: "critical",
    });
  });

  it("acknowledges with one silence (idempotently) and resolve expires it", async () => {
    const connector = create();
    const ticket = asTicket(firing, 4242);
    await connector.acknowledge!(ticket, { signal: AbortSignal.timeout(10_000) });
    await connector.acknowledge!(ticket, { signal: AbortSignal.timeout(10_000) });

    const silences = (
      await am("GET", `/api/v2/silences?filter=${encodeURIComponent(`alertname="${alertname}"`)}`)
    ).json as { id: string; status: { state: string }; comment: string; createdBy: string }[];
    const ours = silences.filter((s) => s.comment.includes(`[runwarden:${firing.fingerprint}]`));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ status: { state: "active" }, createdBy: "runwarden-it" });

    const silenced = (
      await am("GET", `/api/v2/alerts?silenced=true&filter=${encodeURIComponent(`alertname="${alertname}"`)}`)
    ).json as { fingerprint: string; status: { silencedBy: string[] } }[];
    await expect
      .poll(async () => {
        const now = (
          await am("GET", `/api/v2/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`)
        ).json as {
          status: { silencedBy: string[] };
        }[];
        return now[0]?.status.silencedBy;
      })
      .toEqual([ours[0]!.id]);
    expect(silenced[0]?.fingerprint).toBe(firing.fingerprint);

    await connector.resolve!(ticket, { signal: AbortSignal.timeout(10_000) });
    const after = (
      await am("GET", `/api/v2/silences?filter=${encodeURIComponent(`alertname="${alertname}"`)}`)
    ).json as {
      id: string;
      status: { state: string };
    }[];
    expect(after.find((s) => s.id === ours[0]!.id)?.status.state).toBe("expired");
  });

  it("resolves the same fingerprint when Alertmanager sends the resolved notification", async () => {
    const now = new Date().toISOString();
    await am("POST", "/api/v2/alerts", [{ labels, annotations, startsAt: now, endsAt: now }]);
    const hook = await webhookFor(alertname, "resolved");
    const { tickets } = await create().parseWebhook!(hook);
    const resolved = tickets.find((t) => t.metaData?.alertname === alertname)!;
    expect(resolved).toMatchObject({
      fingerprint: firing.fingerprint,
      externalId: firing.externalId,
      resolved: true,
    });
  });
});
