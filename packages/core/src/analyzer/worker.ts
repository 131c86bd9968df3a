/**
 * An analysis worker thread (see pool.ts): runs the built-in stages over batches of identified
 * tickets against its own copy of the runbook index, rebuilt from each snapshot the pool sends.
 * Answers each batch with one JSON string of its analyses, in order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { pino } from "pino";
import type { Analysis } from "../domain.js";
import { defaultPolicy, type Policy } from "../policy.js";
import type { RunbooksApi } from "../runbooks.js";
import { createAnalyzer } from "./index.js";
import { RunbookIndex } from "./match-index.js";
import type { PoolReply, PoolRequest, PoolWorkerData } from "./pool.js";

const port = parentPort;
if (!port) throw new Error("analyzer/worker.ts runs as a worker thread");
const data = workerData as PoolWorkerData;
const policy: Policy = { ...defaultPolicy, ...data.policy };

let index = new RunbookIndex();
const onlyMatch = (): never => {
  throw new Error("only runbooks.match is available in an analysis worker");
};
/** What the built-in stages read of the runbooks API: `match`, on this thread's index. */
const runbooks: RunbooksApi = {
  create: onlyMatch,
  lint: onlyMatch,
  get: onlyMatch,
  list: onlyMatch,
  approve: onlyMatch,
  retire: onlyMatch,
  plan: onlyMatch,
  async match(query, options) {
    return index.match(query, options);
  },
};
// Every analysis is given its time (`analyzedAt`), so the clock is never read here.
const analyzer = createAnalyzer(
  { logger: pino({ enabled: false }), clock: { now: () => Date.now() }, policy },
  { runbooks },
);

async function analyzeBatch(request: Extract<PoolRequest, { type: "analyze" }>): Promise<string> {
  const out: Analysis[] = [];
  for (const item of request.items) {
    const [title, description, severity, environment, service, source, externalId, sourceFingerprint] = item;
    const { analysis } = await analyzer.analyze(
      {
        title,
        description,
        severity,
        environment,
        service,
        source,
        externalId,
        sourceFingerprint,
        metaData: item[8],
      },
      { fingerprint: item[9], normalizeNotes: item[10] ?? [], analyzedAt: request.analyzedAt },
    );
    if (!request.trace) delete (analysis as Analysis).trace;
    out.push(analysis);
  }
  return JSON.stringify(out);
}

port.on("message", (request: PoolRequest) => {
  if (request.type === "index") {
    const fresh = new RunbookIndex();
    for (const { record, plan } of request.entries) fresh.upsert(record, plan);
    index = fresh;
    return;
  }
  analyzeBatch(request).then(
    (json) => port.postMessage({ id: request.id, json } satisfies PoolReply),
    (err: unknown) =>
      port.postMessage({
        id: request.id,
        error: err instanceof Error ? err.message : String(err),
      } satisfies PoolReply),
  );
});
