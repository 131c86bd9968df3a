export {
  type AzureConfig,
  type AzureConnection,
  type AzureConnectionOptions,
  azureClientCertificateCredential,
  azureClientSecretCredential,
  azureConfigSchema,
  azureConnectionOptionsSchema,
  azureCredentialTypes,
  azureManagedIdentityCredential,
} from "./config.js";
export { default } from "./connector.js";
