/**
 * The generic webhook's ticket JSON (snake_case, as the connector guide writes it) → a checked
 * `TicketInput`: the one mapping shared by the built-in `generic` source and the named webhook
 * sources whose JSONata mappings produce the same fields.
 */
import { z } from "zod";
import { normalizeSeverity } from "../analyzer/normalize.js";
import { TicketInput, type TicketSeverity, type ValidTicketInput } from "../domain.js";
import { type FieldProblem, fieldErrors } from "./intake.js";
import { labelsOfMetaData, serviceFromLabels, severityFromLabels } from "./labels.js";

/** The generic webhook's JSON, snake_case as the connector guide writes it. */
export const GenericWebhookTicket = z.object({
  title: z.string(),
  description: z.string().optional(),
  severity: z.string().optional(),
  environment: z.string().optional(),
  service: z.string().optional(),
  source: z.string().optional(),
  external_id: z.union([z.string(), z.number()]).optional(),
  fingerprint: z.string().optional(),
  resolved: z.boolean().optional(),
  meta_data: z.record(z.string(), z.unknown()).optional(),
  received_at: z.string().optional(),
});
/** The JSON the built-in `generic` webhook takes (snake_case); see the schema. */
export type GenericWebhookTicket = z.infer<typeof GenericWebhookTicket>;

/** The generic ticket's fields: any other key of a body is ignored, with a warning. */
export const genericFields: ReadonlySet<string> = new Set(Object.keys(GenericWebhookTicket.shape));

export const snakeCase: Readonly<Record<string, string>> = {
  externalId: "external_id",
  metaData: "meta_data",
  receivedAt: "received_at",
};

/**
 * One generic ticket → a valid input, or its problems pushed to `fields` (field names snake_case,
 * prefixed). `source` is the default source.
 */
export function genericInput(
  t: GenericWebhookTicket,
  source: string,
  prefix: string,
  warnings: string[],
  fields: FieldProblem[],
): ValidTicketInput | undefined {
  const candidate: Record<string, unknown> = {
    title: t.title,
    description: t.description,
    severity: mapSeverity(t.severity, `${prefix}severity`, warnings, t.meta_data),
    environment: t.environment,
    service: t.service ?? labelService(t.meta_data),
    source: t.source ?? source,
    externalId: t.external_id === undefined ? undefined : String(t.external_id),
    fingerprint: t.fingerprint,
    resolved: t.resolved,
    metaData: t.meta_data,
    receivedAt: t.received_at,
  };
  const valid = TicketInput.safeParse(candidate);
  if (valid.success) return valid.data;
  fields.push(...fieldErrors(valid.error, prefix, snakeCase));
  return undefined;
}

/**
 * A webhook's severity onto the scale. Absent or unknown, the ticket's labels and tags
 * (`metaData.labels`, `metaData.tags`) are tried in order (`severity`, `priority`, `level`, …);
 * an unknown one that no label rescues becomes `medium`, with a warning.
 */
export function mapSeverity(
  raw: unknown,
  field: string,
  warnings: string[],
  metaData?: Readonly<Record<string, unknown>>,
): TicketSeverity | undefined {
  const absent = raw === undefined || raw === null || raw === "";
  const mapped = absent ? undefined : normalizeSeverity(raw);
  if (mapped) return mapped;
  const fromLabels = metaData ? severityFromLabels(labelsOfMetaData(metaData)) : undefined;
  if (fromLabels) return fromLabels.severity;
  if (absent) return undefined;
  warnings.push(`${field}: unknown severity "${String(raw).slice(0, 40)}" mapped to medium`);
  return "medium";
}

/** The service the ticket's labels name (`service`, `app`, … and `job` unless an exporter's). */
export function labelService(metaData: Readonly<Record<string, unknown>> | undefined): string | undefined {
  return metaData ? serviceFromLabels(labelsOfMetaData(metaData))?.slice(0, 128) : undefined;
}
