export {
  defaultSeverities,
  defaultStates,
  ServiceNowAuth,
  ServiceNowConfig,
  type ServiceNowConfigInput,
} from "./config.js";
export { default } from "./servicenow.js";
