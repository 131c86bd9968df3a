import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestContext } from "@runwarden/connector-testkit";
import type { ConnectorContext, Ticket, WebhookRequest } from "@runwarden/core";

export const NOW = new Date("2026-11-26T15:12:20.000Z");

/** A connector context with a silent logger and a fixed clock. */
export function testContext(): ConnectorContext {
  return createTestContext({ now: () => NOW }).ctx;
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", name), "utf8"));
}

/** A webhook request as the engine's intake hands it over. */
export function webhookRequest(body: unknown, headers: Record<string, string> = {}): WebhookRequest {
  const rawBody = typeof body === "string" ? body : JSON.stringify(body);
  let parsed: unknown;
  try {
    parsed = typeof body === "string" ? JSON.parse(body) : body;
  } catch {
    parsed = undefined;
  }
  return { headers, body: parsed, rawBody };
}

/** A stored ticket, as the engine would pass it to acknowledge/resolve. */
export function ticket(overrides: Partial<Ticket> = {}): Ticket {
  return {
    id: 12,
    version: 1,
    title: "CPU usage is over 90%",
    description: "",
    severity: "critical",
    environment: "prod",
    service: "node",
    source: "prometheus",
    externalId: "a1b2c3d4e5f60718",
    fingerprint: "prometheus:a1b2c3d4e5f60718",
    status: "new",
    occurrences: 1,
    metaData: {
      labels: { alertname: "HighCPUUsage", instance: "web-01:9100", job: "node", severity: "critical" },
    },
    receivedAt: NOW.toISOString(),
    lastSeenAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    analysis: null,
    statusReason: null,
    ...overrides,
  };
}
