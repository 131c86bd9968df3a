export {
  type MysqlConfig,
  type MysqlConnectionOptions,
  mysqlConfigSchema,
  mysqlConnectionOptionsSchema,
} from "./config.js";
export { default } from "./connector.js";
