export {
  defaultPriorityToSeverity,
  defaultSeverities,
  defaultStatuses,
  ServiceDeskPlusAuth,
  ServiceDeskPlusConfig,
  type ServiceDeskPlusConfigInput,
} from "./config.js";
export { default } from "./servicedesk-plus.js";
