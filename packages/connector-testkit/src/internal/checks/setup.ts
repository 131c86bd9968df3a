/** contract/config-schema, contract/vendor-setup and contract/sample-webhook: the Connectors tab. */
import { describeConnectorConfig, type MonitoringConnector, TicketInput } from "@runwarden/core";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";

const where = {
  webhookUrl: "https://runwarden.example/api/v1/tickets/webhook/contract-check",
  baseUrl: "https://runwarden.example",
};

/**
 * contract/config-schema: the config schema can be shown as JSON Schema (the API's form), and the
 * secret paths core seals are flagged in it.
 */
export function checkConfigSchema(h: Harness): void {
  let described: ReturnType<typeof describeConnectorConfig>;
  try {
    described = describeConnectorConfig(h.definition.configSchema);
  } catch (err) {
    violation(
      "contract/config-schema",
      `the config schema cannot be described as JSON Schema for the configuration form: ${(err as Error).message}`,
    );
  }
  if (described.secretPaths.length > 0 && !JSON.stringify(described.jsonSchema).includes('"x-secret":true'))
    violation("contract/config-schema", "the JSON Schema flags none of the secret() fields");
}

/**
 * contract/vendor-setup: `vendorSetup`, when declared, is pure and gives titled steps; a webhook
 * source's steps name the webhook URL they are given, and write a given `webhookSecret` where a
 * snippet had a placeholder for it.
 */
export function checkVendorSetup(h: Harness): void {
  const setup = h.definition.vendorSetup;
  if (!setup) return;
  let steps: ReturnType<typeof setup>;
  try {
    steps = setup(where);
  } catch (err) {
    violation("contract/vendor-setup", `vendorSetup threw: ${(err as Error).message}`);
  }
  if (!Array.isArray(steps) || steps.length === 0)
    violation("contract/vendor-setup", "vendorSetup returned no steps");
  for (const [i, step] of steps.entries()) {
    if (typeof step?.title !== "string" || step.title.trim() === "")
      violation("contract/vendor-setup", `step ${i} has no title`);
    if (
      step.snippet &&
      (typeof step.snippet.content !== "string" || typeof step.snippet.language !== "string")
    )
      violation("contract/vendor-setup", `step ${i}'s snippet needs a language and a content string`);
  }
  const text = JSON.stringify(steps);
  if (h.definition.kind === "monitoring" && h.definition.capabilities.includes("webhook" as never)) {
    if (!text.includes(where.webhookUrl))
      violation("contract/vendor-setup", "no step names the webhook URL it was given (`where.webhookUrl`)");
  }
  const marker = "contract-generated-secret-0123456789";
  const withSecret = JSON.stringify(setup({ ...where, webhookSecret: marker }));
  if (JSON.stringify(setup(where)) !== text)
    violation("contract/vendor-setup", "vendorSetup is not pure: two calls gave different steps");
  if (withSecret !== text && !withSecret.includes(marker))
    violation("contract/vendor-setup", "the steps change with `webhookSecret` but do not show it");
}

/**
 * contract/sample-webhook: `sampleWebhook`, when declared, is a request the connector's own
 * `parseWebhook` turns into at least one valid ticket (the dashboard's "Send a test alert").
 */
export async function checkSampleWebhook(h: Harness): Promise<void> {
  const sample = h.definition.sampleWebhook;
  if (!sample) return;
  const parse = (h.instance as MonitoringConnector).parseWebhook;
  if (h.definition.kind !== "monitoring" || typeof parse !== "function")
    violation("contract/sample-webhook", "sampleWebhook is declared but the instance has no parseWebhook()");
  const { body, headers } = sample();
  let tickets: unknown[];
  try {
    const parsed = await parse.call(h.instance, {
      headers: { "content-type": "application/json", ...(headers ?? {}) },
      body,
      rawBody: JSON.stringify(body),
    });
    tickets = parsed.tickets;
  } catch (err) {
    violation("contract/sample-webhook", `parseWebhook refused the sample: ${(err as Error).message}`);
  }
  if (tickets.length === 0) violation("contract/sample-webhook", "the sample made no ticket");
  for (const ticket of tickets) {
    const checked = TicketInput.safeParse(ticket);
    if (!checked.success)
      violation(
        "contract/sample-webhook",
        `the sample made an invalid ticket: ${checked.error.issues[0]?.message}`,
      );
  }
}
