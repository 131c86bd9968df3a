/** `DATABASE_URL=… JWT_SECRET=… PORT=3000 node dist/main.js`; SIGTERM drains the step in flight. */
import { pino } from "pino";
import { createService } from "./index.js";

const logger = pino({ name: "orders-service" });
const secret = process.env.JWT_SECRET;
if (!secret || secret.length < 32) {
  logger.fatal({}, "JWT_SECRET must be set (32 characters or more)");
  process.exit(1);
}
const service = await createService({
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orders",
  logger,
  jwtSecret: new TextEncoder().encode(secret),
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
