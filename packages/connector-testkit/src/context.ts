/** A `ConnectorContext` for tests, with every log line kept for inspection. */
import type { ConnectorContext } from "@runwarden/core";
import { captureLogger } from "./internal/capture.js";

/**
 * What {@link createTestContext} returns: the context to pass to `create`, its captured logs and a
 * way to abort it.
 */
export interface TestContext {
  /** The context to hand a connector's `create`. */
  ctx: ConnectorContext;
  /** Every line logged through `ctx.logger` (pino JSON, level trace and up). */
  logs: string[];
  /** Aborts `ctx.signal`, as engine.close() would. */
  abort(): void;
}

/** Creates a context for `definition.create(config, ctx)` in tests. */
export function createTestContext(options: { now?: () => Date } = {}): TestContext {
  const { logger, lines } = captureLogger();
  const controller = new AbortController();
  return {
    ctx: {
      logger,
      signal: controller.signal,
      now: options.now ?? (() => new Date()),
    },
    logs: lines,
    abort: () => controller.abort(),
  };
}
