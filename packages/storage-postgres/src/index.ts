export {
  createPostgresStorage,
  type PostgresStorageOptions,
  postgresSchemaVersion,
} from "./storage-postgres.js";
