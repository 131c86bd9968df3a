export {
  defaultPriorities,
  defaultStatuses,
  ZendeskAuth,
  ZendeskConfig,
  type ZendeskConfigInput,
  ZendeskPriority,
  ZendeskStatus,
  zendeskBaseUrl,
} from "./config.js";
export { zendeskSignature } from "./signature.js";
export { default, zendeskWebhook } from "./zendesk.js";
