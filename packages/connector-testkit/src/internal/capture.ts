import { createServer } from "node:net";
import { type Logger, pino } from "pino";

/** A pino logger at `trace` whose lines are kept in memory, for secret-hygiene checks. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export type Settled =
  | { state: "resolved"; value: unknown; ms: number }
  | { state: "rejected"; error: unknown; ms: number }
  | { state: "pending"; ms: number };

/** Waits for `promise` at most `ms`; says how it ended and how long it took. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  try {
    const outcome = await Promise.race([
      promise.then(
        (value) => ({ state: "resolved" as const, value }),
        (error: unknown) => ({ state: "rejected" as const, error }),
      ),
      pending,
    ]);
    const elapsed = performance.now() - start;
    return outcome === "pending" ? { state: "pending", ms: elapsed } : { ...outcome, ms: elapsed };
  } finally {
    clearTimeout(timer);
    // A late rejection of an abandoned promise must not become an unhandled rejection.
    promise.catch(() => {});
  }
}

/** Every place a secret could leak from an error, as one string. */
export function errorText(error: unknown): string {
  if (typeof error !== "object" || error === null) return String(error);
  const e = error as { message?: unknown; details?: unknown; toJSON?: () => unknown };
  let json = "";
  try {
    json = JSON.stringify(typeof e.toJSON === "function" ? e.toJSON() : error) ?? "";
  } catch {
    json = "";
  }
  return [String(e.message ?? ""), JSON.stringify(e.details ?? null), json].join("\n");
}
