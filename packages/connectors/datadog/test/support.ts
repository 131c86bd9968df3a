import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestContext } from "@runwarden/connector-testkit";
import type { ConnectorContext, WebhookRequest } from "@runwarden/core";

export const NOW = new Date("2024-05-14T09:30:00.000Z");

export function testContext(): ConnectorContext {
  return createTestContext({ now: () => NOW }).ctx;
}

export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", name), "utf8")) as T;
}

export function webhookRequest(body: unknown, headers: Record<string, string> = {}): WebhookRequest {
  return { headers, body, rawBody: JSON.stringify(body) };
}
