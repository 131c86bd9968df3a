export {
  defaultPriorityToSeverity,
  defaultSeverities,
  defaultStatuses,
  RemedyConfig,
  type RemedyConfigInput,
  RemedyImpact,
  RemedyUrgency,
} from "./config.js";
export { default } from "./remedy.js";
