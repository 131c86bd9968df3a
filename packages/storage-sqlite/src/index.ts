export { createSqliteStorage, type SqliteStorageOptions, sqliteSchemaVersion } from "./storage-sqlite.js";
