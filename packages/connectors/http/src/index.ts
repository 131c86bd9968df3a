export {
  type HttpConfig,
  type HttpConnectionOptions,
  httpConfigSchema,
  httpConnectionOptionsSchema,
} from "./config.js";
export { default } from "./connector.js";
