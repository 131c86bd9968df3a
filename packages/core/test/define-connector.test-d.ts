// Type tests for defineConnector: the kind, config schema inference and capability typing
// (checked by `tsc` in the typecheck step; vitest does not run this file).
import { expectTypeOf } from "vitest";
import { z } from "zod";
import {
  type ConnectorCapability,
  type ConnectorDefinition,
  capabilitiesOf,
  type connectorCapabilities,
  defineConnector,
  type InfrastructureConnector,
  type MonitoringConnector,
  type TicketingConnector,
} from "../src/plugin.js";

const base = { name: "acme", version: "1.0.0", sdk: "^0.1.0" } as const;
const infrastructure: InfrastructureConnector = {
  open: async () => ({
    exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
    release: async () => {},
  }),
  healthCheck: async () => ({ ok: true, latencyMs: 0 }),
};

// ── kinds ──────────────────────────────────────────────────────────────────────────────────────

const monitoring = defineConnector({
  ...base,
  kind: "monitoring",
  configSchema: z.object({}),
  capabilities: ["webhook"],
  create: () => ({ parseWebhook: () => ({ tickets: [], warnings: [] }) }),
});
expectTypeOf(monitoring.kind).toEqualTypeOf<"monitoring">();
expectTypeOf(monitoring).toExtend<ConnectorDefinition<"monitoring">>();
expectTypeOf<Awaited<ReturnType<typeof monitoring.create>>>().toEqualTypeOf<MonitoringConnector>();

const ticketing = defineConnector({
  ...base,
  kind: "ticketing",
  configSchema: z.object({}),
  capabilities: ["create", "update", "comment"],
  create: () => ({
    create: async () => ({ externalId: "1" }),
    update: async () => {},
    comment: async () => {},
  }),
});
expectTypeOf(ticketing.kind).toEqualTypeOf<"ticketing">();
expectTypeOf<Awaited<ReturnType<typeof ticketing.create>>>().toEqualTypeOf<TicketingConnector>();

defineConnector({
  ...base,
  // @ts-expect-error: a kind is monitoring, ticketing or infrastructure
  kind: "storage",
  configSchema: z.object({}),
  capabilities: [],
  create: () => infrastructure,
});

defineConnector({
  ...base,
  kind: "ticketing",
  configSchema: z.object({}),
  capabilities: [],
  // @ts-expect-error: a ticketing connector's create must return create/update/comment
  create: () => infrastructure,
});

defineConnector({
  ...base,
  kind: "infrastructure",
  configSchema: z.object({}),
  capabilities: [],
  // @ts-expect-error: an infrastructure connector needs open and healthCheck
  create: () => ({ open: infrastructure.open }),
});

// ── config schema inference ────────────────────────────────────────────────────────────────────

const configured = defineConnector({
  ...base,
  kind: "infrastructure",
  configSchema: z.strictObject({
    url: z.string().url(),
    retries: z.number().int().default(3),
    proxy: z.string().optional(),
    pool: z.strictObject({ max: z.number().default(4) }).prefault({}),
  }),
  capabilities: ["http-request"],
  create(config) {
    // create receives the parsed output: defaults applied, optional fields optional.
    expectTypeOf(config).toEqualTypeOf<{
      url: string;
      retries: number;
      proxy?: string | undefined;
      pool: { max: number };
    }>();
    return infrastructure;
  },
});
// The declaration keeps its schema's type, so hosts get the input type (defaults optional).
expectTypeOf<z.input<typeof configured.configSchema>>().toEqualTypeOf<{
  url: string;
  retries?: number | undefined;
  proxy?: string | undefined;
  pool?: { max?: number | undefined } | undefined;
}>();

defineConnector({
  ...base,
  kind: "infrastructure",
  configSchema: z.object({ port: z.number() }),
  capabilities: [],
  create(config) {
    // @ts-expect-error: port is a number, not a string
    config.port.toUpperCase();
    // @ts-expect-error: a field the schema does not declare cannot be read
    void config.password;
    return infrastructure;
  },
});

// ── capability typing ──────────────────────────────────────────────────────────────────────────

expectTypeOf<ConnectorCapability<"monitoring">>().toEqualTypeOf<
  "webhook" | "verify-webhook" | "pull" | "acknowledge" | "resolve" | "note" | "health-check" | "describe"
>();
expectTypeOf<ConnectorCapability<"ticketing">>().toEqualTypeOf<
  "create" | "update" | "comment" | "pull-changes" | "health-check" | "describe"
>();
expectTypeOf<ConnectorCapability>().toEqualTypeOf<keyof typeof connectorCapabilities>();
expectTypeOf<"health-check">().toExtend<ConnectorCapability<"infrastructure">>();
expectTypeOf<"webhook">().not.toExtend<ConnectorCapability<"infrastructure">>();
expectTypeOf(capabilitiesOf("ticketing")).toEqualTypeOf<ConnectorCapability<"ticketing">[]>();
expectTypeOf(monitoring.capabilities).toEqualTypeOf<readonly ConnectorCapability<"monitoring">[]>();

defineConnector({
  ...base,
  kind: "monitoring",
  configSchema: z.object({}),
  // @ts-expect-error: run-query is an infrastructure capability
  capabilities: ["webhook", "run-query"],
  create: () => ({}),
});

defineConnector({
  ...base,
  kind: "infrastructure",
  configSchema: z.object({}),
  // @ts-expect-error: not a capability at all
  capabilities: ["teleport"],
  create: () => infrastructure,
});

// A declaration of any kind fits where core takes one (createEngine({ connectors })).
expectTypeOf(configured).toExtend<ConnectorDefinition>();
expectTypeOf(ticketing).toExtend<ConnectorDefinition>();
