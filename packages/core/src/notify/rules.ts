/**
 * Notification routing rules: which events go to which notifier channels, filtered by the
 * ticket's environment and severity, the runbook and the approval's risk; with reminders and
 * escalation for approvals.
 */
import { z } from "zod";
import type { Notification, NotificationEvent } from "../plugin.js";

/** The events a rule can route. `test` is only sent by "send a test notification". */
export const notificationEvents = [
  "approval.requested",
  "approval.reminder",
  "approval.expiring",
  "approval.escalated",
  "approval.expired",
  "session.failed",
  "ticket.needs_human",
  "step.interrupted",
  "runbook.auto_execution_paused",
] as const satisfies readonly NotificationEvent[];

const name = z.string().trim().min(1).max(64);

/** One routing rule. Absent filters match everything; every present filter must match. */
export const NotificationRule = z
  .object({
    name: name,
    /** Default: every event except the reminders (a rule's own reminders still fire). */
    events: z.array(z.enum(notificationEvents)).min(1).optional(),
    environments: z.array(z.string().max(64)).min(1).optional(),
    severities: z
      .array(z.enum(["critical", "high", "medium", "low", "info"]))
      .min(1)
      .optional(),
    /** Runbook keys. */
    runbooks: z.array(z.string().max(200)).min(1).optional(),
    risks: z
      .array(z.enum(["safe", "low_risk", "medium_risk", "high_risk"]))
      .min(1)
      .optional(),
    /** Notifier names (registered connectors of kind `notifier`). */
    channels: z.array(name).min(1),
    /** A still pending approval is announced again on `channels` after this long. */
    remindAfterMinutes: z.number().positive().max(10_080).optional(),
    /** A still pending approval is announced on `escalateTo` after this long. */
    escalateAfterMinutes: z.number().positive().max(10_080).optional(),
    escalateTo: z.array(name).min(1).optional(),
    /** Who the escalation is for (a group's name), shown in the message. */
    escalateAudience: z.string().max(120).optional(),
    /** A pending approval is announced as about to expire this long before it does. */
    expiringWithinMinutes: z.number().positive().max(10_080).optional(),
  })
  .strict()
  .refine((rule) => (rule.escalateAfterMinutes === undefined) === (rule.escalateTo === undefined), {
    message: "escalateAfterMinutes and escalateTo go together",
  });
/**
 * A notification routing rule: which events, environments, severities, runbooks and risks go to
 * which `channels`, with optional reminders and escalation.
 *
 * @experimental
 */
export type NotificationRule = z.infer<typeof NotificationRule>;

/** What a rule is matched against: the notification's facts. */
export interface RouteFacts {
  event: NotificationEvent;
  environment?: string | undefined;
  severity?: string | undefined;
  runbookKey?: string | undefined;
  risk?: string | undefined;
}

/** Whether `rule` takes a notification with these facts. A filter on a fact the event lacks does not match. */
export function ruleMatches(rule: NotificationRule, facts: RouteFacts): boolean {
  const events: readonly string[] = rule.events ?? notificationEvents;
  if (!events.includes(facts.event)) return false;
  const fits = (allowed: readonly string[] | undefined, value: string | undefined) =>
    allowed === undefined || (value !== undefined && allowed.includes(value));
  return (
    fits(rule.environments, facts.environment) &&
    fits(rule.severities, facts.severity) &&
    fits(rule.runbooks, facts.runbookKey) &&
    fits(rule.risks, facts.risk)
  );
}

/** The channels the rules send a notification to, each once, in rule order. */
export function routeOf(rules: readonly NotificationRule[], facts: RouteFacts): string[] {
  const channels: string[] = [];
  for (const rule of rules) {
    if (!ruleMatches(rule, facts)) continue;
    for (const channel of rule.channels) if (!channels.includes(channel)) channels.push(channel);
  }
  return channels;
}

/** The facts of a notification, for routing. */
export function factsOf(notification: Notification, severity?: string): RouteFacts {
  return {
    event: notification.event,
    environment: notification.environment,
    severity,
    runbookKey: notification.runbookKey,
    risk: notification.approval?.risk,
  };
}
