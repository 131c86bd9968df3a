/**
 * The e-mail notifier: one message per recipient through SMTP (nodemailer), text and HTML (every
 * value escaped), with the approval's details — the ticket, the exact rendered command, target,
 * risk, expiry, who started it — and, for an approval still to decide, a one-time signed link to
 * the dashboard's approval-link page (`/#/approval-link?channel=<name>&token=…`). The link never
 * decides: the page shows the approval to a signed-in person, who decides with the buttons the
 * Approvals tab has (the same API rules).
 */
import { createHash } from "node:crypto";
import { defineConnector, type Notification, type NotifierConnector, rwError, secret } from "@runwarden/core";
import nodemailer from "nodemailer";
import { z } from "zod";
import { signApprovalLink, verifyApprovalLink } from "./link.js";

const Address = z.email({ message: "an e-mail address" }).max(320);
const Recipients = z.array(Address).min(1).max(50);

/** The e-mail notifier's configuration. */
export const EmailNotifierConfig = z
  .object({
    /** The SMTP server (submission). */
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65_535).default(587),
    /**
     * `starttls` (default; port 587): the connection must upgrade to TLS before anything is sent;
     * `tls`: TLS from the first byte (port 465); `none`: plain text, for a relay on loopback only.
     */
    security: z.enum(["starttls", "tls", "none"]).default("starttls"),
    /** SMTP AUTH, when the server asks for it. */
    auth: z
      .object({ user: z.string().min(1).max(320), password: secret(z.string().min(1).max(1_024)) })
      .strict()
      .optional(),
    /** The sender: `runwarden@example.com` or `"Runwarden" <runwarden@example.com>`. */
    from: z.string().min(3).max(400),
    /** Who receives every notification of this channel. */
    to: Recipients,
    /** Recipients per audience (a rule's `escalateAudience`), instead of `to` for those notifications. */
    audiences: z.record(z.string().min(1).max(100), Recipients).optional(),
    /** The key the approval links are signed with (at least 32 characters; change it to void every link). */
    linkSecret: secret(z.string().min(32).max(256)),
    /** The dashboard's base URL for links; default: the server's public URL (the one in the notification's link). */
    dashboardUrl: z
      .url({ protocol: /^https?$/ })
      .max(500)
      .optional(),
    /** Longest life of a link (it also ends when the approval expires). Default 24 hours. */
    linkTtlMinutes: z
      .number()
      .int()
      .min(5)
      .max(7 * 24 * 60)
      .default(24 * 60),
    timeoutMs: z.number().int().min(100).max(120_000).default(15_000),
  })
  .strict();
export type EmailNotifierConfig = z.infer<typeof EmailNotifierConfig>;

/** One e-mail as the notifier sends it. */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/** The events whose message carries a link to decide (the approval is still pending). */
const decidable = new Set<Notification["event"]>([
  "approval.requested",
  "approval.reminder",
  "approval.escalated",
  "approval.expiring",
]);

/** HTML escaping of text and attribute values. */
export const escapeHtml = (text: string) =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

/** A subject line: one line, no control characters, at most 200 characters. */
const subjectOf = (title: string) => {
  const flat = title.replace(/[\p{Cc}\u2028\u2029]+/gu, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
};

/**
 * The e-mail of a notification. `link` is the approval-link page (with its token) for an approval
 * still to decide; otherwise the notification's own `url` is linked.
 */
export function emailMessage(n: Notification, link?: string): EmailMessage {
  const a = n.approval;
  const facts: [string, string][] = a
    ? [
        ["Target", a.target],
        ["Risk", a.risk],
        ["Expires", a.expiresAt],
        ["Started by", a.startedBy],
        ...(n.environment ? ([["Environment", n.environment]] as [string, string][]) : []),
        ...(n.ticketId !== undefined ? ([["Ticket", `#${n.ticketId}`]] as [string, string][]) : []),
      ]
    : [
        ...(n.environment ? ([["Environment", n.environment]] as [string, string][]) : []),
        ...(n.ticketId !== undefined ? ([["Ticket", `#${n.ticketId}`]] as [string, string][]) : []),
        ...(n.sessionId !== undefined ? ([["Execution", `#${n.sessionId}`]] as [string, string][]) : []),
      ];
  const href = link ?? n.url;
  const linkWords = link
    ? "Open the approval to approve or reject it (sign in to Runwarden; the link works once)"
    : a
      ? "Open the approval in Runwarden"
      : "Open in Runwarden";
  const text = [
    n.title,
    "",
    n.text,
    "",
    ...facts.map(([k, v]) => `${k}: ${v}`),
    ...(a ? ["", "Command:", a.renderedCommand] : []),
    ...(href ? ["", `${linkWords}:`, href] : []),
    "",
    "Opening the link decides nothing: the decision is made on the page, signed in.",
  ].join("\n");
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${escapeHtml(n.title)}</h2>`,
    `<p style="white-space:pre-wrap">${escapeHtml(n.text)}</p>`,
    facts.length > 0
      ? `<table>${facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")}</table>`
      : "",
    a ? `<p><b>Command</b></p><pre style="white-space:pre-wrap">${escapeHtml(a.renderedCommand)}</pre>` : "",
    href ? `<p><a href="${escapeHtml(href)}">${escapeHtml(linkWords)}</a></p>` : "",
    '<p style="color:#666;font-size:small">Opening the link decides nothing: the decision is made on the page, signed in.</p>',
    "</body></html>",
  ].join("");
  return { subject: subjectOf(n.title), text, html };
}

/** nodemailer's error codes that a retry can heal: the server was unreachable or went away. */
const transient = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EPROTOCOL"]);

function mapSmtpError(err: unknown, host: string): Error {
  const e = err as { code?: string; responseCode?: number };
  const details = {
    host,
    ...(e.responseCode ? { smtpCode: e.responseCode } : {}),
    ...(e.code ? { error: e.code } : {}),
  };
  if (e.code === "EAUTH" || e.responseCode === 535 || e.responseCode === 530)
    return rwError("RW_ERR_CONNECTOR_AUTH", `the SMTP server ${host} refused the login`, { details });
  if (typeof e.responseCode === "number" && e.responseCode >= 400 && e.responseCode < 500)
    return rwError(
      "RW_ERR_CONNECTOR_UNREACHABLE",
      `the SMTP server ${host} deferred the message (${e.responseCode})`,
      { retryable: true, details },
    );
  if (typeof e.responseCode === "number" && e.responseCode >= 500)
    return rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `the SMTP server ${host} rejected the message (${e.responseCode})`,
      { details },
    );
  if (e.code && transient.has(e.code))
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `the SMTP server ${host} could not be reached`, {
      retryable: true,
      details,
    });
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `sending through ${host} failed`, {
    retryable: true,
    details,
  });
}

/** The domain of the sender, for Message-IDs. */
function senderDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return match?.[1] ?? "runwarden.invalid";
}

/** The e-mail notifier (kind `notifier`, name `email`). */
export const emailNotifier = defineConnector({
  kind: "notifier",
  name: "email",
  version: "0.1.0",
  sdk: "^0.1.0",
  description:
    "E-mail through SMTP: the approval's details and a one-time signed link to decide in the dashboard",
  configSchema: EmailNotifierConfig,
  capabilities: ["notify", "describe"],
  vendorSetup: ({ baseUrl }) => [
    {
      title: "An SMTP account to send from",
      text: "Use your mail server's submission port (587 with STARTTLS, or 465 with TLS) and an account allowed to send as the from address. Set host, port, security, auth and from; to lists who receives the notifications (audiences: recipients per escalation group).",
    },
    {
      title: "A key for the links",
      text: "Set linkSecret to a random string of at least 32 characters (openssl rand -base64 32). Links are signed with it; changing it voids every link sent.",
    },
    {
      title: "Where the links lead",
      text: "Each approval e-mail links to the dashboard's approval page; set RUNWARDEN_PUBLIC_URL (or dashboardUrl) to the address people open:",
      snippet: { language: "text", content: `${baseUrl}/#/approval-link?channel=email&token=…` },
    },
  ],
  create(config, ctx): NotifierConnector {
    const transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.security === "tls",
      requireTLS: config.security === "starttls",
      ignoreTLS: config.security === "none",
      ...(config.auth ? { auth: { user: config.auth.user, pass: config.auth.password } } : {}),
      connectionTimeout: config.timeoutMs,
      greetingTimeout: config.timeoutMs,
      socketTimeout: config.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    const domain = senderDomain(config.from);

    /** The approval-link page for `recipient`, or undefined when there is no dashboard to link to. */
    function approvalLink(n: Notification, recipient: string): string | undefined {
      const a = n.approval;
      if (!a || !decidable.has(n.event)) return undefined;
      // Core links an approval as `<dashboard>/#/approval-link?approval=<id>`: the dashboard is
      // what comes before the `#`.
      const base = config.dashboardUrl ?? n.url?.replace(/\/?#.*$/s, "");
      if (!base) return undefined;
      const approvalEnd = Date.parse(a.expiresAt);
      const ttlEnd = ctx.now().getTime() + config.linkTtlMinutes * 60_000;
      const token = signApprovalLink(config.linkSecret, {
        approvalId: a.id,
        bindingHash: a.bindingHash ?? "",
        recipient,
        expiresAtMs: Number.isFinite(approvalEnd) ? Math.min(approvalEnd, ttlEnd) : ttlEnd,
      });
      return `${base.replace(/\/+$/, "")}/#/approval-link?channel=email&token=${token}`;
    }

    return {
      async send(n, { idempotencyKey, signal }) {
        const recipients = (n.audience && config.audiences?.[n.audience]) || config.to;
        for (const recipient of recipients) {
          signal.throwIfAborted();
          const message = emailMessage(n, approvalLink(n, recipient));
          // The same Message-ID on a retry, so a mailbox can drop the repeat.
          const id = createHash("sha256")
            .update(`${idempotencyKey}\n${recipient}`)
            .digest("hex")
            .slice(0, 32);
          const sending = transport.sendMail({
            from: config.from,
            to: recipient,
            subject: message.subject,
            text: message.text,
            html: message.html,
            messageId: `<${id}@${domain}>`,
            headers: { "X-Runwarden-Delivery": idempotencyKey, "X-Runwarden-Event": n.event },
          });
          const aborted = new Promise<never>((_, reject) => {
            const onAbort = () =>
              reject(
                rwError("RW_ERR_CONNECTOR_TIMEOUT", "sending the e-mail was aborted", { retryable: true }),
              );
            if (signal.aborted) onAbort();
            signal.addEventListener("abort", onAbort, { once: true });
            sending.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => undefined);
          });
          try {
            await Promise.race([sending, aborted]);
          } catch (err) {
            if ((err as { code?: string }).code === "RW_ERR_CONNECTOR_TIMEOUT") throw err;
            throw mapSmtpError(err, config.host);
          }
        }
        ctx.logger.info({ event: n.event, recipients: recipients.length }, "e-mail notification sent");
        return undefined;
      },
      async healthCheck() {
        const started = Date.now();
        try {
          await transport.verify();
          return { ok: true, latencyMs: Date.now() - started };
        } catch (err) {
          const mapped = mapSmtpError(err, config.host);
          return {
            ok: false,
            latencyMs: Date.now() - started,
            reason: (mapped as { code?: string }).code === "RW_ERR_CONNECTOR_AUTH" ? "auth" : "refused",
            message: mapped.message,
          };
        }
      },
      describe: (n) =>
        `e-mail ${n.event} through ${config.host}:${config.port} to ${((n.audience && config.audiences?.[n.audience]) || config.to).length} recipient(s)`,
      verifyLink: (token) => verifyApprovalLink(config.linkSecret, token, ctx.now().getTime()),
      async close() {
        transport.close();
      },
    };
  },
});

export default emailNotifier;
