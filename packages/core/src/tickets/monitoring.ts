import type { Analyzer } from "../analyzer/index.js";
import { openTicketStatuses, type Ticket, TicketInput, type ValidTicketInput } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { WebhookRequest } from "../plugin.js";
import { type ConnectorRegistry, genericWebhookSource } from "../registry.js";
import type { WebhookSourcesApi } from "../webhook-sources.js";
import { GenericWebhookTicket, genericFields, genericInput, labelService, mapSeverity } from "./generic.js";
import { type FieldProblem, fieldErrors, type Intake, invalid } from "./intake.js";
import type { TicketQueries } from "./queries.js";
import type { IngestResult, TicketsApi, WebhookResult } from "./types.js";

export { GenericWebhookTicket } from "./generic.js";

const maxWebhookTickets = 1_000;

/** What the intake queue needs of the monitoring intake, besides the public calls. */
export interface MonitoringIntake extends Pick<TicketsApi, "ingestWebhook" | "ingestAlerts"> {
  /**
   * Whether `source`'s webhooks can be queued: the generic webhook and monitoring connectors
   * (their verification runs apart from parsing). A named webhook source with a mapping checks
   * its token while mapping, so it is stored directly.
   */
  queueable(source: string): boolean;
  /**
   * What must hold before a delivery is acknowledged: the connector's verification (throws
   * RW_ERR_AUTH_UNAUTHENTICATED) and, for the generic webhook, a valid payload (RW_ERR_INPUT_INVALID).
   */
  verifyWebhook(source: string, request: WebhookRequest): Promise<void>;
  /** `ingestWebhook` for a verified, queued delivery: its tickets' write consumes the entries. */
  ingestQueued(
    source: string,
    request: WebhookRequest,
    submittedBy: string | null,
    consumeIntake: readonly number[],
  ): Promise<WebhookResult>;
  /**
   * Several verified, queued deliveries of one source stored with one ticket write (which
   * consumes their entries), each result (or parsing error) in delivery order. Undefined, with
   * nothing stored, when one carries a resolved alert: those are stored one by one. Throws,
   * storing nothing, when parsing failed in a way a retry can mend (`retryable`, the connector
   * missing) or the write failed.
   */
  ingestQueuedMany(
    source: string,
    deliveries: readonly { id: number; request: WebhookRequest; submittedBy: string | null }[],
  ): Promise<({ ok: true; result: WebhookResult } | { ok: false; error: unknown })[] | undefined>;
}

/** Creates `ingestWebhook` and `ingestAlerts`, and what the intake queue uses. */
export function createMonitoringIntake(
  ctx: EngineContext,
  deps: {
    analyzer: Analyzer;
    registry: ConnectorRegistry;
    intake: Intake;
    queries: TicketQueries;
    /** A source says the ticket's problem is over: cancel what waits on it (the executor's). */
    ticketResolved?: (ticket: Ticket, reason: string) => Promise<void>;
    /** Named webhook sources with a mapping, tried before monitoring connectors. */
    webhookSources?: Pick<WebhookSourcesApi, "receive">;
  },
): MonitoringIntake {
  const log = ctx.logger.child({ component: "tickets" });
  const { storage } = ctx;
  const { analyzer, intake, queries } = deps;
  const { store, subjectOf } = intake;
  const { setStatus } = queries;

  async function resolveOpen(input: ValidTicketInput, reason: string): Promise<Ticket[]> {
    const { ticket: subject, fingerprint } = analyzer.identify(subjectOf(input));
    const open = [...openTicketStatuses];
    const found = new Map<number, Ticket>();
    for (const t of await storage.tickets.find({ where: { fingerprint, status: { in: open } }, limit: 100 }))
      found.set(t.id, t);
    if (subject.externalId) {
      const byId = await storage.tickets.find({
        where: { externalId: subject.externalId, source: subject.source, status: { in: open } },
        limit: 100,
      });
      for (const t of byId) found.set(t.id, t);
    }
    const resolved: Ticket[] = [];
    for (const ticket of found.values()) {
      const updated = await setStatus(ticket.id, "resolved", reason);
      resolved.push(updated);
      if (deps.ticketResolved) {
        try {
          await deps.ticketResolved(updated, reason);
        } catch (err) {
          log.error({ ticketId: ticket.id, err }, "ticket resolution hook failed");
        }
      }
    }
    return resolved;
  }

  async function ingestValid(
    inputs: ValidTicketInput[],
    autoExecute: boolean,
    submittedBy: string | null,
    consumeIntake?: readonly number[],
  ): Promise<IngestResult[]> {
    const results: IngestResult[] = [];
    const open = inputs.filter((input) => !input.resolved);
    const stored = await store(
      open,
      autoExecute,
      (i) => open[i]?.receivedAt,
      () => submittedBy,
      consumeIntake,
    );
    let next = 0;
    for (const input of inputs) {
      if (input.resolved) continue;
      results.push(stored[next++] as IngestResult);
    }
    return results;
  }

  async function webhookInputs(
    source: string,
    request: WebhookRequest,
    verified = false,
  ): Promise<{ inputs: ValidTicketInput[]; warnings: string[] }> {
    const warnings: string[] = [];
    if (source === genericWebhookSource) {
      const body = request.body;
      const items = Array.isArray(body) ? body : [body];
      if (body === undefined || body === null || typeof body !== "object") {
        throw invalid("the webhook body must be a JSON ticket object or an array of them", [
          { field: "(body)", message: "expected a JSON object or array" },
        ]);
      }
      if (items.length > maxWebhookTickets) {
        throw rwError("RW_ERR_INPUT_TOO_LARGE", `a webhook may carry at most ${maxWebhookTickets} tickets`, {
          details: { limit: maxWebhookTickets, count: items.length },
        });
      }
      const inputs: ValidTicketInput[] = [];
      const fields: FieldProblem[] = [];
      items.forEach((item, i) => {
        const prefix = Array.isArray(body) ? `[${i}].` : "";
        const parsed = GenericWebhookTicket.safeParse(item);
        if (!parsed.success) {
          fields.push(...fieldErrors(parsed.error, prefix));
          return;
        }
        const t = parsed.data;
        const ignored = Object.keys(item as object).filter((k) => !genericFields.has(k));
        if (ignored.length > 0)
          warnings.push(`${prefix}ignored unknown field(s): ${ignored.slice(0, 10).join(", ")}`);
        const input = genericInput(t, source, prefix, warnings, fields);
        if (input) inputs.push(input);
      });
      if (fields.length > 0) throw invalid("the webhook payload is invalid", fields);
      return { inputs, warnings };
    }

    if (deps.webhookSources && !deps.registry.has("monitoring", source)) {
      const mapped = await deps.webhookSources.receive(source, request);
      if (mapped) {
        if (mapped.tickets.length > maxWebhookTickets) {
          throw rwError(
            "RW_ERR_INPUT_TOO_LARGE",
            `a webhook may carry at most ${maxWebhookTickets} tickets`,
            {
              details: { limit: maxWebhookTickets, count: mapped.tickets.length },
            },
          );
        }
        return { inputs: mapped.tickets, warnings: [...warnings, ...mapped.warnings] };
      }
    }
    const connector = deps.registry.monitoring(source);
    if (!verified && connector.verifyWebhook && !(await connector.verifyWebhook(request))) {
      throw rwError("RW_ERR_AUTH_UNAUTHENTICATED", `the webhook failed ${source}'s verification`, {
        details: { source },
      });
    }
    if (!connector.parseWebhook) {
      throw rwError("RW_ERR_PLUGIN_NOT_FOUND", `monitoring connector "${source}" does not accept webhooks`, {
        details: { kind: "monitoring", name: source },
      });
    }
    const parsed = await connector.parseWebhook(request);
    warnings.push(...parsed.warnings);
    if (parsed.tickets.length > maxWebhookTickets) {
      throw rwError("RW_ERR_INPUT_TOO_LARGE", `a webhook may carry at most ${maxWebhookTickets} tickets`, {
        details: { limit: maxWebhookTickets, count: parsed.tickets.length },
      });
    }
    const fields: FieldProblem[] = [];
    const inputs = connectorInputs(source, parsed.tickets, warnings, fields);
    if (fields.length > 0) throw invalid(`connector "${source}" produced an invalid ticket`, fields);
    return { inputs, warnings };
  }

  /**
   * A monitoring connector's tickets (a webhook's or a pull's) as intake takes them: the source
   * defaulted, the severity mapped onto the scale, each checked. Problems go to `fields`.
   */
  function connectorInputs(
    source: string,
    tickets: readonly TicketInput[],
    warnings: string[],
    fields: FieldProblem[],
  ): ValidTicketInput[] {
    const inputs: ValidTicketInput[] = [];
    tickets.forEach((ticket, i) => {
      const prefix = tickets.length > 1 ? `[${i}].` : "";
      const candidate = {
        ...ticket,
        source: ticket.source ?? source,
        severity: mapSeverity(ticket.severity as unknown, `${prefix}severity`, warnings, ticket.metaData),
        service: ticket.service || labelService(ticket.metaData),
      };
      const valid = TicketInput.safeParse(candidate);
      if (valid.success) inputs.push(valid.data);
      else fields.push(...fieldErrors(valid.error, prefix));
    });
    return inputs;
  }

  /** What every monitoring source shares after parsing: resolutions first, then the rest folded or stored. */
  async function monitoringIntake(
    source: string,
    inputs: ValidTicketInput[],
    warnings: string[],
    submittedBy: string | null,
    consumeIntake?: readonly number[],
  ): Promise<WebhookResult> {
    const resolved: Ticket[] = [];
    for (const input of inputs) {
      if (!input.resolved) continue;
      const done = await resolveOpen(input, `resolved by ${input.source}`);
      if (done.length === 0)
        warnings.push(`no open ticket matched the resolved alert "${input.title.slice(0, 80)}"`);
      resolved.push(...done);
    }
    const tickets = await ingestValid(inputs, true, submittedBy, consumeIntake);
    if (warnings.length > 0) log.debug({ source, warnings: warnings.length }, "alerts mapped with warnings");
    return { tickets, resolved, warnings };
  }

  return {
    queueable(source) {
      return source === genericWebhookSource || deps.registry.has("monitoring", source);
    },

    async verifyWebhook(source, request) {
      if (source === genericWebhookSource) {
        await webhookInputs(source, request);
        return;
      }
      const connector = deps.registry.monitoring(source);
      if (connector.verifyWebhook && !(await connector.verifyWebhook(request))) {
        throw rwError("RW_ERR_AUTH_UNAUTHENTICATED", `the webhook failed ${source}'s verification`, {
          details: { source },
        });
      }
      if (!connector.parseWebhook) {
        throw rwError(
          "RW_ERR_PLUGIN_NOT_FOUND",
          `monitoring connector "${source}" does not accept webhooks`,
          {
            details: { kind: "monitoring", name: source },
          },
        );
      }
    },

    async ingestQueuedMany(source, deliveries) {
      const parsed: (
        | { ok: true; inputs: ValidTicketInput[]; warnings: string[] }
        | { ok: false; error: unknown }
      )[] = [];
      for (const { request } of deliveries) {
        try {
          parsed.push({ ok: true, ...(await webhookInputs(source, request, true)) });
        } catch (error) {
          if (isRunwardenError(error) && (error.retryable || error.code.startsWith("RW_ERR_PLUGIN_NOT_")))
            throw error;
          parsed.push({ ok: false, error });
        }
      }
      if (parsed.some((p) => p.ok && p.inputs.some((input) => input.resolved))) return undefined;
      const inputs: ValidTicketInput[] = [];
      const by: (string | null)[] = [];
      const consumed: number[] = [];
      parsed.forEach((p, i) => {
        if (!p.ok || p.inputs.length === 0) return;
        for (const input of p.inputs) {
          inputs.push(input);
          by.push(deliveries[i]!.submittedBy);
        }
        consumed.push(deliveries[i]!.id);
      });
      const stored = await store(
        inputs,
        true,
        (i) => inputs[i]?.receivedAt,
        (i) => by[i] ?? null,
        consumed,
      );
      let next = 0;
      return parsed.map((p) => {
        if (!p.ok) return p;
        const tickets = stored.slice(next, next + p.inputs.length);
        next += p.inputs.length;
        return { ok: true as const, result: { tickets, resolved: [], warnings: p.warnings } };
      });
    },

    async ingestQueued(source, request, submittedBy, consumeIntake) {
      const { inputs, warnings } = await webhookInputs(source, request, true);
      return monitoringIntake(source, inputs, warnings, submittedBy, consumeIntake);
    },

    async ingestWebhook(source, request, options = {}) {
      const { inputs, warnings } = await webhookInputs(source, request);
      return monitoringIntake(source, inputs, warnings, options.submittedBy ?? null);
    },

    async ingestAlerts(source, alerts) {
      const warnings: string[] = [];
      const fields: FieldProblem[] = [];
      const inputs = connectorInputs(source, alerts, warnings, fields);
      for (const { field, message } of fields.slice(0, 20)) warnings.push(`refused ${field}: ${message}`);
      return monitoringIntake(source, inputs, warnings, `monitoring:${source}`);
    },
  };
}
