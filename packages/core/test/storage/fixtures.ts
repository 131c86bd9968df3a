/**
 * Valid new documents for every collection, for the storage contract suite and store tests.
 */
import type {
  ApiToken,
  Approval,
  AuditEvent,
  ConnectionRecord,
  ConnectorConfigRecord,
  CredentialRecord,
  ExecutionSession,
  RunbookRecord,
  StepRecord,
  Ticket,
  WebhookSourceRecord,
} from "../../src/domain.js";
import type { NewDoc, OutboxItem } from "../../src/storage.js";

export const T0 = "2025-01-01T00:00:00.000Z";

/** `T0` plus `ms`, as an ISO timestamp. */
export function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

export function newTicket(over: Partial<NewDoc<Ticket>> = {}): NewDoc<Ticket> {
  return {
    title: "Disk usage above 90% on web-01",
    description: "Filesystem /var is 93% full",
    severity: "high",
    environment: "production",
    service: "web",
    source: "csv",
    externalId: null,
    fingerprint: "fp-disk-web-01",
    status: "new",
    occurrences: 1,
    metaData: { region: "eu-west-1", tags: ["disk", "web"] },
    receivedAt: T0,
    lastSeenAt: T0,
    updatedAt: T0,
    analysis: null,
    statusReason: null,
    submittedBy: null,
    ...over,
  };
}

export function newRunbook(over: Partial<NewDoc<RunbookRecord>> = {}): NewDoc<RunbookRecord> {
  return {
    key: "clean-disk",
    revision: 1,
    title: "Clean disk",
    status: "draft",
    markdown: "# Clean disk\n",
    hash: "a".repeat(64),
    createdAt: T0,
    updatedAt: T0,
    createdBy: "alice",
    approvedBy: null,
    ...over,
  };
}

export function newSession(over: Partial<NewDoc<ExecutionSession>> = {}): NewDoc<ExecutionSession> {
  return {
    ticketId: 1,
    runbookId: 1,
    runbookKey: "clean-disk",
    runbookRevision: 1,
    status: "pending",
    phase: "prechecks",
    dryRun: false,
    startedBy: "engine",
    causedBy: null,
    fingerprint: "fp-disk-web-01",
    createdAt: T0,
    updatedAt: T0,
    finishedAt: null,
    error: null,
    lease: null,
    ...over,
  };
}

export function newStep(
  index: number,
  over: Partial<NewDoc<StepRecord>> = {},
): Omit<NewDoc<StepRecord>, "sessionId"> {
  const { sessionId: _sessionId, ...rest } = {
    index,
    phase: "main" as const,
    name: `step ${index}`,
    command: "df -h {{ host }}",
    rendered: null,
    language: "bash",
    connection: "local",
    requiresApproval: false,
    severity: "safe" as const,
    idempotent: true,
    status: "pending" as const,
    attempts: 0,
    exitCode: null,
    stdout: "",
    stderr: "",
    startedAt: null,
    finishedAt: null,
    error: null,
    ...over,
  };
  return rest;
}

export function newApproval(over: Partial<NewDoc<Approval>> = {}): NewDoc<Approval> {
  return {
    sessionId: 1,
    stepId: 1,
    ticketId: 1,
    status: "pending",
    bindingHash: "b".repeat(64),
    stepName: "restart",
    renderedCommand: "systemctl restart nginx",
    target: "web-01",
    risk: "medium_risk",
    ticketTitle: "nginx down",
    startedBy: "alice",
    causedBy: "alice",
    requiredApprovals: 1,
    decisions: [],
    requestedAt: T0,
    expiresAt: at(3_600_000),
    decidedAt: null,
    ...over,
  };
}

export function newCredential(over: Partial<NewDoc<CredentialRecord>> = {}): NewDoc<CredentialRecord> {
  return {
    name: "web-ssh",
    credentialType: "ssh",
    environment: "production",
    fields: { username: "deploy", port: 22 },
    secretFields: ["privateKey"],
    ciphertext: "k1:aXY=:dGFn:ZGF0YQ==",
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function newConnection(over: Partial<NewDoc<ConnectionRecord>> = {}): NewDoc<ConnectionRecord> {
  return {
    name: "web-01",
    connectionType: "ssh",
    credentialId: 1,
    targetHost: "10.0.0.1",
    targetPort: 22,
    targetService: null,
    environment: "production",
    options: { hostKey: "SHA256:abc" },
    health: { status: "unknown", checkedAt: null, latencyMs: null, error: null },
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function newAudit(over: Partial<NewDoc<AuditEvent>> = {}): NewDoc<AuditEvent> {
  return {
    at: T0,
    actor: "alice",
    action: "approval.approved",
    objectType: "approval",
    objectId: "1",
    origin: "127.0.0.1",
    details: { comment: "ok" },
    ...over,
  };
}

export function newOutbox(over: Partial<NewDoc<OutboxItem>> = {}): NewDoc<OutboxItem> {
  return {
    target: "servicenow",
    ticketId: 1,
    idempotencyKey: "note-1",
    kind: "work-note",
    payload: { text: "restarted nginx" },
    status: "pending",
    attempts: 0,
    nextAttemptAt: T0,
    lastError: null,
    createdAt: T0,
    ...over,
  };
}

export function newToken(over: Partial<NewDoc<ApiToken>> = {}): NewDoc<ApiToken> {
  return {
    actor: "alice",
    roles: ["viewer", "approver"],
    tokenHash: "c".repeat(64),
    prefix: "rw_abc",
    createdAt: T0,
    createdBy: null,
    revokedAt: null,
    lastUsedAt: null,
    ...over,
  };
}

export function newWebhookSource(
  over: Partial<NewDoc<WebhookSourceRecord>> = {},
): NewDoc<WebhookSourceRecord> {
  return {
    name: "uptime-kuma",
    description: "Uptime Kuma notifications",
    items: null,
    mapping: '{ "title": monitor.name & " is down", "severity": "high" }',
    fingerprint: "$string(monitor.id)",
    resolveWhen: "heartbeat.status = 1",
    tokenHash: "d".repeat(64),
    tokenPrefix: "rwwh_abcd",
    createdAt: T0,
    updatedAt: T0,
    createdBy: "admin",
    lastReceivedAt: null,
    ...over,
  };
}

export function newConnectorConfig(
  over: Partial<NewDoc<ConnectorConfigRecord>> = {},
): NewDoc<ConnectorConfigRecord> {
  return {
    kind: "monitoring",
    name: "prometheus",
    config: { webhookAuth: { type: "bearer" }, url: "http://127.0.0.1:9093" },
    secretPaths: ["webhookAuth.token"],
    ciphertext: "v1.k1.sealed",
    createdAt: T0,
    updatedAt: T0,
    updatedBy: "admin",
    ...over,
  };
}
