/**
 * What the suites check for each capability, typed against core's list so a capability added to
 * core without a line here fails the build; and the capability table the connector guide and the
 * testkit README carry (a test keeps both in step with it).
 */
import { type ConnectorCapability, connectorCapabilities } from "@runwarden/core";

const operation =
  "`testConnector`: rejects promptly when aborted, fails with a connector code against a failing target";

/** How the suites check each capability ("not checked" when no generic check can). */
export const capabilityChecks: Record<ConnectorCapability, string> = {
  webhook:
    "`testMonitoringWebhooks`: samples give valid TicketInput; hostile bodies get an input code, promptly",
  "verify-webhook": "`testMonitoringWebhooks`: a request without credentials is refused",
  pull: operation,
  acknowledge: operation,
  resolve: operation,
  note: operation,
  create: `${operation}; \`testTicketingIdempotency\`: a retry returns the same ticket, made once`,
  update: `${operation}; \`testTicketingIdempotency\`: a retry is accepted`,
  comment: `${operation}; \`testTicketingIdempotency\`: a retry adds one note`,
  "pull-changes": `${operation}; \`testTicketingIdempotency\`: nothing repeats after the cursor`,
  notify:
    "`testNotifier`: a notification arrives once with its idempotency key; an aborted send rejects promptly; a failing target rejects with a connector code, no secret",
  "health-check":
    "`testConnector`: not ok with a reason, promptly, against a failing target and an aborted signal",
  describe:
    "`testConnector`: one non-empty line per connection (infrastructure) or per write of the kind (ticketing, monitoring), no secret",
  exec: "not checked by itself (every infrastructure connector gets the open/exec checks)",
  "run-command": "not checked by itself (every infrastructure connector gets the open/exec checks)",
  "run-query": "not checked by itself (every infrastructure connector gets the open/exec checks)",
  "http-request": "not checked by itself (every infrastructure connector gets the open/exec checks)",
  shell: "not checked",
  timeout: "`testConnector` with `connection` and `slowRequest`: timeoutMs 200 ends it, `timedOut: true`",
  "stream-output": "`testConnector` with `connection`: the `onOutput` chunks add up to stdout/stderr",
  "cancel-query": "not checked by itself (`slowRequest` aborted mid-call must reject promptly)",
  "read-only-transaction": "not checked",
  "connection-pool": "not checked",
  "jump-host": "not checked",
  "egress-policy": "not checked",
  "retry-after": "not checked",
};

/** The Markdown table of every capability: name, kinds, promise, how the suites check it. */
export function capabilityTable(): string {
  const rows = (Object.keys(connectorCapabilities) as ConnectorCapability[]).map((name) => {
    const { kinds, summary } = connectorCapabilities[name];
    return `| \`${name}\` | ${kinds.join(", ")} | ${summary} | ${capabilityChecks[name]} |`;
  });
  return ["| capability | kinds | promise | checked by |", "|---|---|---|---|", ...rows].join("\n");
}
