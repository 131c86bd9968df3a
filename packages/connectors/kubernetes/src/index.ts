export {
  type KubernetesAction,
  type KubernetesConfig,
  type KubernetesConnection,
  type KubernetesConnectionOptions,
  kubernetesActions,
  kubernetesConfigSchema,
  kubernetesConnectionOptionsSchema,
  kubernetesCredentialTypes,
  rfc1123Label,
  rfc1123Name,
} from "./config.js";
export { default } from "./connector.js";
