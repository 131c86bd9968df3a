/**
 * `DATABASE_URL=postgres://… PORT=3000 node dist/main.js`: the service, with a demo user per role
 * (passwords from DEMO_PASSWORD), draining steps in flight on SIGTERM.
 */
import { pino } from "pino";
import { createService } from "./index.js";

const logger = pino({ name: "orders-service" });
const password = process.env.DEMO_PASSWORD ?? "change-me";
const service = await createService({
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orders",
  logger,
  users: [
    { name: "sam", password, role: "sre" },
    { name: "lena", password, role: "lead" },
    { name: "abe", password, role: "auditor" },
  ],
});
const url = await service.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1");
logger.info({ url }, "listening");

process.once("SIGTERM", () => {
  service.shutdown().then(
    () => logger.flush(() => process.exit(0)),
    (err: unknown) => {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    },
  );
});
