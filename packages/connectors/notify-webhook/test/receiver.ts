/**
 * A webhook receiving end for tests: verifies `X-Runwarden-Signature` on its own (not with the
 * package's verifier), answers 401 to a bad or stale signature, 415 to a body that is not JSON,
 * and records what it accepted. `reply` forces a status for the next requests.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function startReceiver(secret: string) {
  const accepted: Received[] = [];
  const refused: Received[] = [];
  const replies: { status: number; headers?: Record<string, string> }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const got = { body, headers: req.headers };
      const forced = replies.shift();
      if (forced) {
        res.writeHead(forced.status, forced.headers).end();
        return;
      }
      const header = String(req.headers["x-runwarden-signature"] ?? "");
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
      const fresh = match && Math.abs(Date.now() / 1000 - Number(match[1])) <= 300;
      const mac = match ? createHmac("sha256", secret).update(`${match[1]}.${body}`).digest() : undefined;
      const valid = match && mac && fresh && timingSafeEqual(mac, Buffer.from(match[2]!, "hex"));
      if (req.method !== "POST" || !valid) {
        refused.push(got);
        res.writeHead(401).end();
        return;
      }
      if (req.headers["content-type"] !== "application/json") {
        refused.push(got);
        res.writeHead(415).end();
        return;
      }
      JSON.parse(body);
      accepted.push(got);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/runwarden`,
    accepted,
    refused,
    reply(status: number, headers?: Record<string, string>) {
      replies.push({ status, ...(headers ? { headers } : {}) });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
