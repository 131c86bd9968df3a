/** Monitoring webhooks: contract/webhook-ticket, -auth, -error-code and -prompt. */
import { isRunwardenError, TicketInput, type WebhookRequest } from "@runwarden/core";
import { settleWithin } from "../capture.js";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";
import { describeError, inputCodes } from "./shared.js";

/** contract/webhook-ticket: every sample parses into valid TicketInput with the connector's source. */
export async function checkWebhookSamples(
  h: Harness<"monitoring">,
  samples: readonly WebhookRequest[],
): Promise<void> {
  const instance = h.instance;
  if (typeof instance.parseWebhook !== "function")
    violation("contract/capability-method", "the instance has no parseWebhook()");
  if (samples.length === 0) violation("contract/webhook-ticket", "give at least one sample request");
  for (const [index, sample] of samples.entries()) {
    if (instance.verifyWebhook && (await instance.verifyWebhook(sample)) !== true)
      violation("contract/webhook-auth", `verifyWebhook refused sample ${index}, which is authenticated`);
    const parsed = await instance.parseWebhook(sample);
    if (!Array.isArray(parsed?.warnings))
      violation("contract/webhook-ticket", `sample ${index}: warnings is not a list`);
    if (!Array.isArray(parsed.tickets) || parsed.tickets.length === 0)
      violation("contract/webhook-ticket", `sample ${index} produced no ticket`);
    for (const ticket of parsed.tickets) {
      const checked = TicketInput.safeParse(ticket);
      if (!checked.success)
        violation(
          "contract/webhook-ticket",
          `sample ${index} produced an invalid TicketInput: ${JSON.stringify(checked.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })))}`,
        );
      if (ticket.source !== h.definition.name)
        violation(
          "contract/webhook-ticket",
          `sample ${index}: source "${ticket.source}" is not the connector's name "${h.definition.name}"`,
        );
      if (!(ticket.fingerprint ?? ticket.externalId))
        violation("contract/webhook-ticket", `sample ${index}: a ticket needs a fingerprint or externalId`);
    }
  }
}

/** contract/webhook-auth: a request without its credentials is refused (when the connector verifies). */
export async function checkWebhookRefusesAnonymous(
  h: Harness<"monitoring">,
  sample: WebhookRequest,
): Promise<void> {
  const verify = h.instance.verifyWebhook;
  if (typeof verify !== "function")
    violation("contract/capability-method", "the instance has no verifyWebhook()");
  if ((await verify.call(h.instance, { ...sample, headers: {} })) !== false)
    violation("contract/webhook-auth", "verifyWebhook accepted a request without credentials");
}

function deeplyNested(depth: number): unknown {
  let value: unknown = {};
  for (let i = 0; i < depth; i++) value = { alerts: [value] };
  return value;
}

function webhook(body: unknown, headers: Readonly<Record<string, string>>, rawBody?: string): WebhookRequest {
  let raw = rawBody;
  if (raw === undefined) {
    try {
      raw = JSON.stringify(body) ?? "";
    } catch {
      raw = "";
    }
  }
  return { headers, body, rawBody: raw };
}

/**
 * contract/webhook-error-code and contract/webhook-prompt: hostile bodies are refused with an
 * input error code (never a TypeError, never a hang), and none pollutes Object.prototype.
 */
export async function checkWebhookHostile(
  h: Harness<"monitoring">,
  auth: Readonly<Record<string, string>>,
  promptMs: number,
): Promise<void> {
  const parse = h.instance.parseWebhook;
  if (typeof parse !== "function")
    violation("contract/capability-method", "the instance has no parseWebhook()");
  const hostile: WebhookRequest[] = [
    webhook(null, auth),
    webhook(42, auth),
    webhook("text", auth),
    webhook([], auth),
    webhook({}, auth),
    webhook({ alerts: "not a list", version: 4 }, auth),
    webhook(JSON.parse('{"__proto__":{"polluted":true}}'), auth),
    webhook(deeplyNested(2_000), auth),
    webhook(undefined, auth, "{ not json"),
    webhook(undefined, auth, `{"a":"${"x".repeat(20 * 1024 * 1024)}"}`),
  ];
  for (const body of hostile) {
    const label = body.rawBody.slice(0, 60);
    const outcome = await settleWithin(
      Promise.resolve().then(() => parse.call(h.instance, body)),
      promptMs,
    );
    if (outcome.state === "pending")
      violation("contract/webhook-prompt", `parseWebhook is still pending after ${promptMs} ms on ${label}`);
    if (outcome.state === "resolved")
      violation("contract/webhook-error-code", `parseWebhook accepted the hostile body ${label}`);
    h.errors.push(outcome.error);
    if (!isRunwardenError(outcome.error) || !inputCodes.includes(outcome.error.code))
      violation(
        "contract/webhook-error-code",
        `parseWebhook refused ${label} with ${describeError(outcome.error)}, not ${inputCodes.join(" or ")}`,
      );
    if (outcome.ms > promptMs)
      violation("contract/webhook-prompt", `parseWebhook took ${Math.round(outcome.ms)} ms on ${label}`);
  }
  if (({} as Record<string, unknown>).polluted !== undefined) {
    delete (Object.prototype as Record<string, unknown>).polluted;
    violation("contract/webhook-error-code", "parseWebhook polluted Object.prototype");
  }
}
