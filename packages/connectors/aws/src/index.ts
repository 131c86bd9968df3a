export {
  type AwsAction,
  type AwsConfig,
  type AwsConnection,
  type AwsConnectionOptions,
  awsActions,
  awsConfigSchema,
  awsConnectionOptionsSchema,
  awsCredentialTypes,
  instanceId,
} from "./config.js";
export { default } from "./connector.js";
