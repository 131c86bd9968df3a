/**
 * An open-loop load generator: requests are sent on a schedule set by the clock (request k at
 * start + k / rate), whether or not earlier ones have been answered, so a server that falls
 * behind builds a queue that the latencies show (a closed-loop generator would slow down with it
 * and hide it). Every latency is measured from the request's scheduled time, not from when it
 * happened to be sent.
 */
import { Pool } from "undici";
import { now } from "./servers/remediation-protocol.js";

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  seconds: number;
  headers?: Record<string, string>;
  /** Request k's external id (how the caller finds it again) and its JSON body. */
  request(k: number): { id: string; body: string };
  /** Connections the generator may open (enough that it never waits for one at the offered rate). */
  connections?: number;
}

export interface OpenLoopResult {
  /** When each request was due, by its id (ms on the shared clock of remediation-protocol.ts). */
  due: Map<string, number>;
  /** Due → answer (2xx) of every answered request, ms. */
  answered: number[];
  /** Requests that got no 2xx, with what they got instead. */
  failed: string[];
  /** The largest delay between a request's due time and its sending (the generator's own lag), ms. */
  sendLag: number;
  start: number;
  end: number;
}

/** Posts `rate × seconds` requests to `url` at `rate`, open loop; resolves once all are answered. */
export async function openLoop(url: string, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { origin, pathname, search } = new URL(url);
  const pool = new Pool(origin, { connections: options.connections ?? 128, pipelining: 1 });
  const total = Math.round(options.rate * options.seconds);
  const due = new Map<string, number>();
  const answered: number[] = [];
  const failed: string[] = [];
  const inFlight: Promise<void>[] = [];
  let sendLag = 0;
  const start = now();
  try {
    for (let k = 0; k < total; k++) {
      const at = start + (k * 1000) / options.rate;
      const wait = at - now();
      if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
      sendLag = Math.max(sendLag, now() - at);
      const { id, body } = options.request(k);
      due.set(id, at);
      inFlight.push(
        pool
          .request({
            path: pathname + search,
            method: "POST",
            headers: { "content-type": "application/json", ...options.headers },
            body,
          })
          .then(
            async (res) => {
              await res.body.dump();
              if (res.statusCode >= 200 && res.statusCode < 300) answered.push(now() - at);
              else failed.push(`HTTP ${res.statusCode}`);
            },
            (err: unknown) => {
              failed.push(err instanceof Error ? err.message : String(err));
            },
          ),
      );
    }
    await Promise.all(inFlight);
    return { due, answered, failed, sendLag, start, end: now() };
  } finally {
    await pool.close();
  }
}
