/** `@runwarden/connector-notify-email`: the e-mail notifier (SMTP, one-time signed approval links). */
export {
  default,
  type EmailMessage,
  EmailNotifierConfig,
  emailMessage,
  emailNotifier,
  escapeHtml,
} from "./connector.js";
export { signApprovalLink, verifyApprovalLink } from "./link.js";
