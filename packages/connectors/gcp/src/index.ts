export {
  type GcpConfig,
  type GcpConnection,
  type GcpConnectionOptions,
  gcpConfigSchema,
  gcpConnectionOptionsSchema,
  gcpCredentialTypes,
  gcpServiceAccountCredential,
  gcpWorkloadIdentityCredential,
} from "./config.js";
export { default } from "./connector.js";
