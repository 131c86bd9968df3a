export {
  type WinrmConfig,
  type WinrmConnection,
  type WinrmConnectionOptions,
  winrmConfigSchema,
  winrmConnectionOptionsSchema,
  winrmCredential,
  winrmCredentialTypes,
} from "./config.js";
export { default } from "./connector.js";
