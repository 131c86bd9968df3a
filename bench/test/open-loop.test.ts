import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openLoop } from "../src/open-loop.js";
import { now } from "../src/servers/remediation-protocol.js";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A loopback server that answers `status` after `delayMs`, recording when each request arrived. */
async function slowServer(delayMs: number, status = 202): Promise<{ url: string; arrivals: number[] }> {
  const arrivals: number[] = [];
  server = createServer((req, res) => {
    arrivals.push(now());
    req.resume();
    req.on("end", () => setTimeout(() => res.writeHead(status).end(), delayMs));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alert`, arrivals };
}

describe("openLoop", () => {
  it("sends by the clock even when every answer takes longer than the interval", async () => {
    const { url, arrivals } = await slowServer(100);
    const result = await openLoop(url, {
      rate: 50,
      seconds: 0.4,
      request: (k) => ({ id: `a-${k}`, body: "{}" }),
    });
    expect(result.answered).toHaveLength(20);
    expect(result.failed).toEqual([]);
    // Closed loop on one connection would need 20 × 100 ms; open loop sends all 20 within ~0.4 s.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeLessThan(1_000);
    expect(result.due.get("a-10")! - result.due.get("a-0")!).toBeCloseTo(200, 5);
  });

  it("measures every latency from the request's due time, so each includes the server's delay", async () => {
    const { url } = await slowServer(60);
    const result = await openLoop(url, {
      rate: 20,
      seconds: 0.2,
      request: (k) => ({ id: `${k}`, body: "{}" }),
    });
    expect(result.answered).toHaveLength(4);
    // libuv starts a 60 ms timer from its cached loop time, which can be up to 1 ms behind the
    // monotonic clock: the answer may come 59.x ms after the request was due, never less.
    for (const ms of result.answered) expect(ms).toBeGreaterThanOrEqual(59);
  });

  it("reports answers other than 2xx as failures, not latencies", async () => {
    const { url } = await slowServer(0, 503);
    const result = await openLoop(url, {
      rate: 20,
      seconds: 0.1,
      request: (k) => ({ id: `${k}`, body: "{}" }),
    });
    expect(result.answered).toEqual([]);
    expect(result.failed).toEqual(["HTTP 503", "HTTP 503"]);
  });
});
