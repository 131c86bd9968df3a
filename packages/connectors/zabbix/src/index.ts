export {
  ZabbixApiAuth,
  ZabbixConfig,
  type ZabbixConfigInput,
  ZabbixWebhookAuth,
} from "./config.js";
export { mediaTypeMacros, mediaTypeName, mediaTypeScript, mediaTypeYaml } from "./media-type.js";
export { ZabbixWebhookPayload } from "./webhook.js";
export { default, zabbixVendorSetup } from "./zabbix.js";
