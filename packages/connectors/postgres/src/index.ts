export {
  type PostgresConfig,
  type PostgresConnectionOptions,
  postgresConfigSchema,
  postgresConnectionOptionsSchema,
} from "./config.js";
export { default } from "./connector.js";
