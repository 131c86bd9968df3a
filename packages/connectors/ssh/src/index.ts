export {
  type SshConfig,
  type SshConnectionOptions,
  sshConfigSchema,
  sshConnectionOptionsSchema,
} from "./config.js";
export { default } from "./connector.js";
