/**
 * The contract rules as plain async functions: each returns when the connector keeps the rule and
 * throws a ContractViolation naming the rule when it does not. The suites' `it` blocks call them,
 * and the testkit's own tests call them on deliberately broken connectors.
 */
import {
  type ConnectorCapability,
  type ConnectorKind,
  capabilitiesOf,
  type ExecRequest,
  type HealthResult,
  type InfrastructureConnector,
  isRunwardenError,
  type MonitoringConnector,
  type RemoteTicketRef,
  type ResolvedConnection,
  type Ticket,
  TicketInput,
  type TicketingConnector,
  type WebhookRequest,
} from "@runwarden/core";
import { errorText, settleWithin } from "./capture.js";
import type { Harness } from "./harness.js";
import { violation } from "./violation.js";

/** An operation of a monitoring or ticketing connector, run against a failing target. */
export type Operation = (instance: unknown, options: { signal: AbortSignal }) => Promise<unknown>;

export const connectorCodes: readonly string[] = [
  "RW_ERR_CONNECTOR_UNREACHABLE",
  "RW_ERR_CONNECTOR_AUTH",
  "RW_ERR_CONNECTOR_TIMEOUT",
  "RW_ERR_CONNECTOR_NOT_FOUND",
  "RW_ERR_CONNECTOR_CONFLICT",
  "RW_ERR_CONNECTOR_RATE_LIMITED",
  "RW_ERR_CONNECTOR_REJECTED",
];
const inputCodes: readonly string[] = [
  "RW_ERR_INPUT_INVALID",
  "RW_ERR_INPUT_TOO_LARGE",
  "RW_ERR_INPUT_MALFORMED",
];
const garbage: readonly unknown[] = ["not a config", 42, true, null, [], () => {}];

/** The method each capability stands for; declaring one means having the other, and back. */
export const capabilityMethods: Partial<Record<ConnectorCapability, readonly string[]>> = {
  webhook: ["parseWebhook"],
  "verify-webhook": ["verifyWebhook"],
  pull: ["pull"],
  acknowledge: ["acknowledge"],
  resolve: ["resolve"],
  create: ["create"],
  update: ["update"],
  comment: ["comment"],
  "pull-changes": ["pullChanges"],
  "health-check": ["healthCheck"],
  describe: ["describe"],
};

/** Capabilities whose promise a call against a failing target can exercise. */
export const operationCapabilities = [
  "pull",
  "acknowledge",
  "resolve",
  "create",
  "update",
  "comment",
  "pull-changes",
] as const satisfies readonly ConnectorCapability[];
export type OperationCapability = (typeof operationCapabilities)[number];

/** A plain ticket for operations that take one. */
export function sampleTicket(source: string): Ticket {
  const now = new Date().toISOString();
  return {
    id: 1,
    version: 1,
    title: "contract: disk full on web-1",
    description: "The contract suite's sample ticket.",
    severity: "high",
    environment: "test",
    service: "web",
    source,
    externalId: "contract-1",
    fingerprint: "contract-fingerprint",
    status: "executing",
    occurrences: 1,
    metaData: {},
    receivedAt: now,
    lastSeenAt: now,
    updatedAt: now,
    analysis: null,
    statusReason: null,
  };
}

/** The call that exercises `capability` when the connector's tests give none. */
export function defaultOperation(capability: OperationCapability, ticket: Ticket): Operation {
  const ref: RemoteTicketRef = { externalId: ticket.externalId ?? "contract-1" };
  const key = `contract-${capability}`;
  switch (capability) {
    case "pull":
      return async (instance, { signal }) => {
        for await (const _ of (instance as MonitoringConnector).pull!({ signal })) break;
      };
    case "acknowledge":
      return (instance, { signal }) => (instance as MonitoringConnector).acknowledge!(ticket, { signal });
    case "resolve":
      return (instance, { signal }) => (instance as MonitoringConnector).resolve!(ticket, { signal });
    case "create":
      return (instance, { signal }) =>
        (instance as TicketingConnector).create(ticket, { idempotencyKey: key, signal });
    case "update":
      return (instance, { signal }) =>
        (instance as TicketingConnector).update(ref, { status: "resolved" }, { idempotencyKey: key, signal });
    case "comment":
      return (instance, { signal }) =>
        (instance as TicketingConnector).comment(ref, "contract note", { idempotencyKey: key, signal });
    case "pull-changes":
      return (instance, { signal }) => (instance as TicketingConnector).pullChanges!({ signal });
  }
}

// ── declaration ────────────────────────────────────────────────────────────────────────────────

/** contract/config-refused: the config schema refuses garbage and the connector's own bad configs. */
export function checkRefusesGarbage(h: Harness, invalid: readonly unknown[] = []): void {
  for (const config of [...garbage, ...invalid]) {
    if (h.definition.configSchema.safeParse(config).success)
      violation("contract/config-refused", `the config schema accepted ${describeValue(config)}`);
  }
}

/**
 * contract/capability-method: every declared capability has its method, and every optional method
 * the instance has is declared as its capability (an undeclared one would never be checked).
 */
export function checkCapabilitiesMatchMethods(h: Harness): void {
  const instance = h.instance as unknown as Record<string, unknown>;
  const declared = new Set<string>(h.definition.capabilities);
  for (const capability of capabilitiesOf(h.definition.kind as ConnectorKind)) {
    const methods = capabilityMethods[capability];
    if (!methods) continue;
    const present = methods.filter((m) => typeof instance[m] === "function");
    if (declared.has(capability) && present.length === 0)
      violation(
        "contract/capability-method",
        `declares capability "${capability}" but the instance has no ${methods.join(" or ")}()`,
      );
    if (!declared.has(capability) && present.length > 0)
      violation(
        "contract/capability-method",
        `has ${present.join(", ")}() but does not declare capability "${capability}"`,
      );
  }
}

// ── operations (monitoring, ticketing) ─────────────────────────────────────────────────────────

/**
 * contract/abort-operation and contract/error-code: the operation rejects promptly with a
 * RunwardenError when its signal is already aborted, and fails with a connector code against the
 * failing target of the sample config.
 */
export async function checkOperation(
  h: Harness,
  name: string,
  operation: Operation,
  promptMs: number,
): Promise<void> {
  const aborted = await settleWithin(run(operation, h.instance, AbortSignal.abort()), promptMs);
  if (aborted.state === "pending")
    violation("contract/abort-operation", `${name} is still pending ${promptMs} ms after an aborted signal`);
  if (aborted.state === "resolved")
    violation("contract/abort-operation", `${name} resolved although its signal was already aborted`);
  h.errors.push(aborted.error);
  if (!isRunwardenError(aborted.error))
    violation(
      "contract/abort-operation",
      `${name} rejected an aborted call with ${describeError(aborted.error)}, not a RunwardenError`,
    );

  const failing = await settleWithin(run(operation, h.instance, AbortSignal.timeout(10_000)), 15_000);
  if (failing.state === "pending")
    violation("contract/error-code", `${name} did not settle against the failing target`);
  if (failing.state === "resolved")
    violation(
      "contract/error-code",
      `${name} succeeded against the failing target (the sample config must point at one)`,
    );
  h.errors.push(failing.error);
  expectConnectorCode("contract/error-code", `${name} against the failing target`, failing.error);
}

async function run(operation: Operation, instance: unknown, signal: AbortSignal): Promise<unknown> {
  return operation(instance, { signal });
}

// ── health ─────────────────────────────────────────────────────────────────────────────────────

type HealthCall = (signal: AbortSignal) => Promise<HealthResult>;

function healthCall(h: Harness, target: ResolvedConnection | undefined): HealthCall {
  if (h.definition.kind === "infrastructure") {
    if (!target) throw new TypeError("infrastructure health needs a target");
    return (signal) => (h.instance as InfrastructureConnector).healthCheck(target, { signal });
  }
  const check = (h.instance as { healthCheck?: (o?: { signal: AbortSignal }) => Promise<HealthResult> })
    .healthCheck;
  if (typeof check !== "function") violation("contract/capability-method", "healthCheck is not a function");
  return (signal) => check.call(h.instance, { signal });
}

async function expectUnhealthy(h: Harness, call: HealthCall, signal: AbortSignal, ms: number, label: string) {
  const outcome = await settleWithin(
    Promise.resolve().then(() => call(signal)),
    ms,
  );
  if (outcome.state === "pending")
    violation("contract/health-prompt", `healthCheck is still pending ${Math.round(outcome.ms)} ms ${label}`);
  if (outcome.state === "rejected") {
    h.errors.push(outcome.error);
    if (!isRunwardenError(outcome.error))
      violation(
        "contract/health-shape",
        `healthCheck threw ${describeError(outcome.error)} ${label}; answer { ok: false, reason }`,
      );
    return;
  }
  const health = outcome.value as HealthResult;
  h.texts.push(JSON.stringify(health));
  if (health?.ok !== false) violation("contract/health-shape", `healthCheck answered ok ${label}`);
  if (!health.reason) violation("contract/health-shape", `healthCheck gave no reason ${label}`);
  if (!(health.latencyMs >= 0)) violation("contract/health-shape", `healthCheck gave no latencyMs ${label}`);
}

/**
 * contract/health-prompt and contract/health-shape: healthCheck settles promptly, not ok, when
 * its signal is already aborted (infrastructure, whose healthCheck takes a signal).
 */
export async function checkHealthAborted(
  h: Harness,
  target: ResolvedConnection,
  promptMs: number,
): Promise<void> {
  await expectUnhealthy(h, healthCall(h, target), AbortSignal.abort(), promptMs, "after an aborted signal");
}

/**
 * contract/health-prompt and contract/health-shape: against the failing target (monitoring and
 * ticketing: the sample config's; infrastructure: the unreachable connection), healthCheck
 * settles within `timeoutMs` plus `promptMs` and answers not ok with a reason and a latency.
 */
export async function checkHealthFailing(
  h: Harness,
  target: ResolvedConnection | undefined,
  options: { promptMs: number; timeoutMs: number },
): Promise<void> {
  await expectUnhealthy(
    h,
    healthCall(h, target),
    AbortSignal.timeout(options.timeoutMs),
    options.timeoutMs + options.promptMs,
    "against the failing target",
  );
}

// ── infrastructure ─────────────────────────────────────────────────────────────────────────────

export function execRequest(base: Partial<ExecRequest> | undefined, signal: AbortSignal): ExecRequest {
  return { command: "true", language: "sh", readOnly: false, ...base, signal };
}

function infra(h: Harness): InfrastructureConnector {
  return h.instance as InfrastructureConnector;
}

/** contract/describe-line: describe() gives one non-empty line for each connection. */
export function checkDescribe(
  h: Harness,
  request: Partial<ExecRequest> | undefined,
  connections: ResolvedConnection[],
): void {
  const describeFn = infra(h).describe;
  if (typeof describeFn !== "function") violation("contract/describe-line", "the instance has no describe()");
  for (const connection of connections) {
    const line = describeFn.call(infra(h), execRequest(request, new AbortController().signal), connection);
    if (typeof line !== "string" || line.length === 0)
      violation("contract/describe-line", "describe() returned an empty or non-string description");
    h.texts.push(line);
    if (/[\r\n]/.test(line))
      violation("contract/describe-line", `describe() returned more than one line: ${JSON.stringify(line)}`);
  }
}

/** contract/abort-open: open() rejects promptly when its signal is already aborted. */
export async function checkOpenAborted(
  h: Harness,
  target: ResolvedConnection,
  promptMs: number,
): Promise<void> {
  const outcome = await settleWithin(
    Promise.resolve().then(() => infra(h).open(target, { signal: AbortSignal.abort() })),
    promptMs,
  );
  if (outcome.state === "pending")
    violation("contract/abort-open", `open() is still pending ${promptMs} ms after an aborted signal`);
  if (outcome.state === "resolved") {
    await (outcome.value as { release?: () => Promise<void> }).release?.();
    violation("contract/abort-open", "open() resolved although its signal was already aborted");
  }
  h.errors.push(outcome.error);
  if (!isRunwardenError(outcome.error))
    violation(
      "contract/abort-open",
      `open() rejected an aborted call with ${describeError(outcome.error)}, not a RunwardenError`,
    );
}

/**
 * contract/abort-exec: exec() rejects promptly with a RunwardenError when its signal is already
 * aborted, and (with `slow`) when it aborts mid-call.
 */
export async function checkExecAbort(
  h: Harness,
  live: ResolvedConnection,
  options: { request?: Partial<ExecRequest>; slow?: Partial<ExecRequest>; promptMs: number },
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const already = await settleWithin(
      Promise.resolve().then(() => handle.exec(execRequest(options.request, AbortSignal.abort()))),
      options.promptMs,
    );
    expectAbortRejection(h, "exec() with an aborted signal", already, options.promptMs);
    if (!options.slow) return;
    const controller = new AbortController();
    const running = Promise.resolve().then(() => handle.exec(execRequest(options.slow, controller.signal)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    const midway = await settleWithin(running, options.promptMs);
    expectAbortRejection(h, "exec() aborted mid-call", midway, options.promptMs);
  });
}

function expectAbortRejection(
  h: Harness,
  label: string,
  outcome: Awaited<ReturnType<typeof settleWithin>>,
  promptMs: number,
): void {
  if (outcome.state === "pending")
    violation("contract/abort-exec", `${label} is still pending after ${promptMs} ms`);
  if (outcome.state === "resolved")
    violation("contract/abort-exec", `${label} resolved instead of rejecting`);
  h.errors.push(outcome.error);
  if (!isRunwardenError(outcome.error))
    violation(
      "contract/abort-exec",
      `${label} rejected with ${describeError(outcome.error)}, not a RunwardenError`,
    );
}

/** contract/exec-result: the sample request runs on the live connection and gives a well-formed result. */
export async function checkExecRuns(
  h: Harness,
  live: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const result = await handle.exec(execRequest(request, AbortSignal.timeout(10_000)));
    if (typeof result.stdout !== "string" || typeof result.stderr !== "string")
      violation("contract/exec-result", "exec() returned no stdout/stderr strings");
    if (!(result.exitCode === null || Number.isInteger(result.exitCode)))
      violation("contract/exec-result", `exec() returned exitCode ${String(result.exitCode)}`);
  });
}

/** contract/stream-output: onOutput chunks add up to the result's output. */
export async function checkStreamOutput(
  h: Harness,
  live: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const streamed = { stdout: "", stderr: "" };
    const result = await handle.exec({
      ...execRequest(request, AbortSignal.timeout(10_000)),
      onOutput: (stream, chunk) => {
        streamed[stream] += chunk;
      },
    });
    if (result.stdout.length === 0 && result.stderr.length === 0)
      violation("contract/stream-output", "the sample request printed nothing: give one that does");
    if (streamed.stdout !== result.stdout || streamed.stderr !== result.stderr)
      violation("contract/stream-output", "the chunks given to onOutput do not add up to stdout/stderr");
  });
}

/** contract/timeout: a slow request with a short timeoutMs ends promptly, timed out. */
export async function checkTimeout(
  h: Harness,
  live: ResolvedConnection,
  slow: Partial<ExecRequest>,
  promptMs: number,
): Promise<void> {
  await withHandle(h, live, async (handle) => {
    const outcome = await settleWithin(
      Promise.resolve().then(() =>
        handle.exec({ ...execRequest(slow, AbortSignal.timeout(30_000)), timeoutMs: 200 }),
      ),
      200 + promptMs,
    );
    if (outcome.state === "pending")
      violation("contract/timeout", `timeoutMs 200 did not end the request in ${200 + promptMs} ms`);
    if (outcome.state === "rejected") {
      h.errors.push(outcome.error);
      if (isRunwardenError(outcome.error) && outcome.error.code === "RW_ERR_CONNECTOR_TIMEOUT") return;
      violation("contract/timeout", `a timed-out request rejected with ${describeError(outcome.error)}`);
    }
    if ((outcome.value as { timedOut?: boolean }).timedOut !== true)
      violation("contract/timeout", "a request ended by timeoutMs did not say timedOut: true");
  });
}

/** contract/error-code: an unreachable target fails open()/exec() with a connector code. */
export async function checkUnreachable(
  h: Harness,
  target: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  const error = await caught(async () => {
    const handle = await infra(h).open(target, { signal: AbortSignal.timeout(10_000) });
    try {
      await handle.exec(execRequest(request, AbortSignal.timeout(10_000)));
    } finally {
      await handle.release();
    }
  });
  if (error === undefined) violation("contract/error-code", "an unreachable target did not fail");
  h.errors.push(error);
  expectConnectorCode("contract/error-code", "an unreachable target", error);
}

/** contract/auth-code: a refused credential fails with RW_ERR_CONNECTOR_AUTH. */
export async function checkRejectedCredential(
  h: Harness,
  target: ResolvedConnection,
  request: Partial<ExecRequest> | undefined,
): Promise<void> {
  const error = await caught(async () => {
    const handle = await infra(h).open(target, { signal: AbortSignal.timeout(10_000) });
    try {
      await handle.exec(execRequest(request, AbortSignal.timeout(10_000)));
    } finally {
      await handle.release();
    }
  });
  if (error === undefined) violation("contract/auth-code", "a refused credential did not fail");
  h.errors.push(error);
  if (!isRunwardenError(error) || error.code !== "RW_ERR_CONNECTOR_AUTH")
    violation(
      "contract/auth-code",
      `a refused credential failed with ${describeError(error)}, not RW_ERR_CONNECTOR_AUTH`,
    );
}

async function withHandle(
  h: Harness,
  live: ResolvedConnection,
  body: (handle: Awaited<ReturnType<InfrastructureConnector["open"]>>) => Promise<void>,
): Promise<void> {
  const handle = await infra(h).open(live, { signal: AbortSignal.timeout(10_000) });
  try {
    await body(handle);
  } finally {
    await handle.release();
  }
}

// ── monitoring webhooks ────────────────────────────────────────────────────────────────────────

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

// ── ticketing idempotency ──────────────────────────────────────────────────────────────────────

export interface IdempotencyTarget {
  ticket: Ticket;
  countTickets?: () => Promise<number> | number;
  countComments?: (ref: RemoteTicketRef) => Promise<number> | number;
}

const slowSignal = () => AbortSignal.timeout(10_000);

/** contract/idempotent-create: create retried with the same key returns the same remote ticket, made once. */
export async function checkIdempotentCreate(
  h: Harness<"ticketing">,
  target: IdempotencyTarget,
  key: string,
): Promise<RemoteTicketRef> {
  const before = await target.countTickets?.();
  const first = await h.instance.create(target.ticket, { idempotencyKey: key, signal: slowSignal() });
  const again = await h.instance.create(target.ticket, { idempotencyKey: key, signal: slowSignal() });
  if (again.externalId !== first.externalId)
    violation(
      "contract/idempotent-create",
      `a retried create returned ${again.externalId}, the first ${first.externalId}`,
    );
  if (before !== undefined) {
    const after = await target.countTickets!();
    if (after !== before + 1)
      violation(
        "contract/idempotent-create",
        `a retried create made ${after - before} remote tickets, not 1`,
      );
  }
  return first;
}

/** contract/idempotent-comment: a comment retried with the same key is added once. */
export async function checkIdempotentComment(
  h: Harness<"ticketing">,
  target: IdempotencyTarget,
  key: string,
): Promise<void> {
  const ref = await h.instance.create(target.ticket, {
    idempotencyKey: `${key}-create`,
    signal: slowSignal(),
  });
  const before = await target.countComments?.(ref);
  await h.instance.comment(ref, "contract note", { idempotencyKey: `${key}-note`, signal: slowSignal() });
  await h.instance.comment(ref, "contract note", { idempotencyKey: `${key}-note`, signal: slowSignal() });
  if (before !== undefined) {
    const after = await target.countComments!(ref);
    if (after !== before + 1)
      violation("contract/idempotent-comment", `a retried comment added ${after - before} notes, not 1`);
  }
}

/** contract/idempotent-update: an update retried with the same key is accepted. */
export async function checkIdempotentUpdate(
  h: Harness<"ticketing">,
  target: IdempotencyTarget,
  key: string,
): Promise<void> {
  const ref = await h.instance.create(target.ticket, {
    idempotencyKey: `${key}-create`,
    signal: slowSignal(),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const error = await caught(() =>
      h.instance.update(
        ref,
        { status: "resolved" },
        { idempotencyKey: `${key}-update`, signal: slowSignal() },
      ),
    );
    if (error !== undefined)
      violation(
        "contract/idempotent-update",
        `update attempt ${attempt + 1} with the same key failed: ${describeError(error)}`,
      );
  }
}

/** contract/pull-changes-cursor: pullChanges returns a cursor after which it repeats nothing. */
export async function checkPullChangesCursor(h: Harness<"ticketing">): Promise<void> {
  const pull = h.instance.pullChanges;
  if (typeof pull !== "function")
    violation("contract/capability-method", "the instance has no pullChanges()");
  const first = await pull.call(h.instance, { signal: slowSignal() });
  if (typeof first.cursor !== "string")
    violation("contract/pull-changes-cursor", "pullChanges returned no string cursor");
  const second = await pull.call(h.instance, { cursor: first.cursor, signal: slowSignal() });
  const seen = new Set(first.changes.map((c) => `${c.externalId}@${c.updatedAt}`));
  for (const change of second.changes)
    if (seen.has(`${change.externalId}@${change.updatedAt}`))
      violation(
        "contract/pull-changes-cursor",
        `pullChanges after the cursor repeated ${change.externalId}@${change.updatedAt}`,
      );
}

// ── secret hygiene ─────────────────────────────────────────────────────────────────────────────

/**
 * contract/secret-leak: no secret shows in any error message, `details` or `toJSON()` the checks
 * caught, in any description or health result, or in any line logged through the connector's logger.
 */
export function checkSecretHygiene(h: Harness, secrets: Iterable<string>): void {
  const values = [...new Set([...h.secrets, ...secrets])].filter((value) => value.length >= 4);
  if (values.length === 0)
    violation("contract/secret-leak", "no secret to look for: give options.secrets or a credential");
  const haystacks = [...h.errors.map(errorText), ...h.texts, ...h.logs];
  for (const value of values)
    for (const text of haystacks)
      if (text.includes(value))
        violation(
          "contract/secret-leak",
          `a secret leaked into: ${text.split(value).join("<secret>").slice(0, 300)}`,
        );
}

// ── helpers ────────────────────────────────────────────────────────────────────────────────────

function expectConnectorCode(rule: string, label: string, error: unknown): void {
  if (!isRunwardenError(error) || !connectorCodes.includes(error.code))
    violation(rule, `${label} failed with ${describeError(error)}, not one of ${connectorCodes.join(", ")}`);
}

async function caught(body: () => Promise<unknown>): Promise<unknown> {
  try {
    await body();
  } catch (error) {
    return error ?? new Error("rejected with nothing");
  }
  return undefined;
}

/** A short label for an error: its code, or its name and the start of its message. */
function describeError(error: unknown): string {
  if (isRunwardenError(error)) return error.code;
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 160)}`;
  return `${typeof error} ${String(error).slice(0, 80)}`;
}

function describeValue(value: unknown): string {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return String(value);
  }
}
