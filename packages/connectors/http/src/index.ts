export {
  type HttpConfig,
  type HttpConnection,
  type HttpConnectionOptions,
  httpConfigSchema,
  httpConnectionOptionsSchema,
  httpCredentialTypes,
} from "./config.js";
export { default } from "./connector.js";
