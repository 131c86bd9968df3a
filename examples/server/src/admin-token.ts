/**
 * `npm run admin-token`: prints a new admin token for the example server's store (the data folder
 * of RUNWARDEN_DATA_DIR, or RUNWARDEN_DATABASE_URL) and revokes the one before, for someone who
 * lost the token shown at the first start. Safe while the server runs: it sees the change within
 * its token cache's few seconds.
 */
import { createTokenStore } from "@runwarden/http-adapter";
import { pino } from "pino";
import { readConfig } from "./config.js";
import { openStorage } from "./server.js";
import { privateDataDir, rotateAdminToken } from "./setup.js";

async function main(): Promise<void> {
  const config = readConfig();
  if (config.adminToken) {
    process.stderr.write(
      "RUNWARDEN_ADMIN_TOKEN is set: that is the admin token; change the variable to change it.\n",
    );
    process.exit(1);
  }
  privateDataDir(config.dataDir);
  const storage = await openStorage(config, pino({ level: "warn" }));
  try {
    const token = await rotateAdminToken(storage, createTokenStore(storage));
    process.stderr.write("A new admin token; the one before is revoked:\n");
    process.stdout.write(`${token}\n`);
  } finally {
    await storage.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
