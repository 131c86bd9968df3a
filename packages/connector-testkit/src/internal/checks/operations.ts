/** Monitoring and ticketing operations: the default call per capability, contract/abort-operation and contract/error-code. */
import {
  type ConnectorCapability,
  isRunwardenError,
  type MonitoringConnector,
  type RemoteTicketRef,
  type Ticket,
  type TicketingConnector,
} from "@runwarden/core";
import { settleWithin } from "../capture.js";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";
import { describeError, expectConnectorCode, type Operation } from "./shared.js";

/** Capabilities whose promise a call against a failing target can exercise. */
export const operationCapabilities = [
  "pull",
  "acknowledge",
  "resolve",
  "note",
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
      return (instance, { signal }) =>
        (instance as MonitoringConnector).acknowledge!(ticket, { idempotencyKey: key, signal });
    case "resolve":
      return (instance, { signal }) =>
        (instance as MonitoringConnector).resolve!(ticket, { idempotencyKey: key, signal });
    case "note":
      return (instance, { signal }) =>
        (instance as MonitoringConnector).note!(ticket, "contract note", {
          idempotencyKey: key,
          sessionId: 1,
          signal,
        });
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
