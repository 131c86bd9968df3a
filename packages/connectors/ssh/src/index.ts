export {
  type SshConfig,
  type SshConnection,
  type SshConnectionOptions,
  sshConfigSchema,
  sshConnectionOptionsSchema,
  sshCredential,
  sshCredentialTypes,
} from "./config.js";
export { default } from "./connector.js";
