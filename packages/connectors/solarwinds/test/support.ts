import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestContext } from "@runwarden/connector-testkit";
import type { ConnectorContext, Ticket, TicketInput, WebhookRequest } from "@runwarden/core";

export const NOW = new Date("2025-05-14T09:30:00.000Z");

export function testContext(): ConnectorContext {
  return createTestContext({ now: () => NOW }).ctx;
}

export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", name), "utf8")) as T;
}

export function webhookRequest(body: unknown, headers: Record<string, string> = {}): WebhookRequest {
  return { headers, body, rawBody: JSON.stringify(body) };
}

export async function collect(iterable: AsyncIterable<TicketInput>): Promise<TicketInput[]> {
  const out: TicketInput[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A ticket as the engine hands it to acknowledge/resolve, for one alert object. */
export function alertTicket(alertObjectId: number, over: Partial<Ticket> = {}): Ticket {
  return {
    id: 7,
    title: "Node is down on web-01",
    source: "solarwinds",
    externalId: String(alertObjectId),
    fingerprint: String(alertObjectId),
    metaData: { alertObjectId },
    ...over,
  } as Ticket;
}
