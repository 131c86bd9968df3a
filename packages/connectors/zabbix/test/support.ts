import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestContext } from "@runwarden/connector-testkit";
import type { ConnectorContext, WebhookRequest } from "@runwarden/core";

export const NOW = new Date("2026-12-07T09:30:00.000Z");

export function testContext(now: () => Date = () => NOW): ConnectorContext {
  return createTestContext({ now }).ctx;
}

/** A file of /work/shared/fixtures/zabbix copied into test/fixtures. */
export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", name), "utf8")) as T;
}

export function webhookRequest(body: unknown, headers: Record<string, string> = {}): WebhookRequest {
  return { headers, body, rawBody: JSON.stringify(body) };
}
