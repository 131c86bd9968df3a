/**
 * Engine processes announcing approvals through the signed webhook notifier are killed with
 * SIGKILL around the approval request and its notification: right after the approval is stored
 * (before its notification is enqueued), right after the notification row is written, while the
 * receiver holds the POST (it arrived, the process never learns so), and right after the row is
 * marked delivered. A new process on the same SQLite file carries on each time. At the end every
 * approval was announced under exactly one delivery id, the only repeats are the POSTs cut off
 * mid-way (same id, so the receiver drops them), and each session's announcements came in order.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../../../connectors/notify-webhook/src/index.js";
import { createSqliteStorage } from "../../../storage-sqlite/src/index.js";
import { createEngine } from "../../src/index.js";

const SECRET = "crash-test-webhook-secret-0123456789";

interface Receipt {
  /** Which process (run) sent it. */
  run: number;
  deliveryId: string;
  approvalId: number;
  sessionId: number;
  event: string;
}

/** The receiving end: checks the signature, records each POST; `hold` keeps the next one unanswered. */
async function startReceiver() {
  const receipts: Receipt[] = [];
  const refused: string[] = [];
  let onHeld: ((res: ServerResponse) => void) | undefined;
  let run = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const signature = String(req.headers["x-runwarden-signature"] ?? "");
      if (!verifyWebhookSignature(SECRET, signature, body, Date.now() / 1_000)) {
        refused.push(body);
        res.writeHead(401).end();
        return;
      }
      const json = JSON.parse(body) as {
        delivery_id: string;
        event: string;
        session_id: number;
        approval: { id: number };
      };
      if (req.headers["x-runwarden-delivery"] !== json.delivery_id) refused.push(body);
      receipts.push({
        run,
        deliveryId: json.delivery_id,
        approvalId: json.approval.id,
        sessionId: json.session_id,
        event: json.event,
      });
      const held = onHeld;
      if (held) {
        onHeld = undefined;
        held(res);
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    receipts,
    refused,
    /** Later POSTs are counted as sent by process `n`. */
    run(n: number) {
      run = n;
    },
    /** The next POST arrives and is recorded, then `then` gets its response (left unanswered). */
    hold(then: (res: ServerResponse) => void) {
      onHeld = then;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let dir: string;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

function child(
  path: string,
  url: string,
  point: string,
  nth: number,
): { proc: ChildProcess; done: Promise<string> } {
  const proc = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/notify-child.ts"),
      path,
      url,
      point,
      String(nth),
    ],
    {
      cwd: import.meta.dirname,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOOK_SECRET: SECRET },
    },
  );
  let out = "";
  proc.stdout!.on("data", (d) => {
    out += d;
  });
  proc.stderr!.on("data", (d) => {
    out += d;
  });
  // A run that neither dies nor finishes is stopped, and its output shows where it stood.
  const stuck = setTimeout(() => {
    out += "\n(stuck: stopped after 30 s)";
    proc.kill("SIGTERM");
  }, 30_000);
  const done = new Promise<string>((resolve) =>
    proc.on("exit", (code, signal) => {
      clearTimeout(stuck);
      resolve(`${code ?? signal}\n${out.slice(-4_000)}`);
    }),
  );
  return { proc, done };
}

/** Three tickets, and a runbook of three gated steps (idempotent: a crash mid-`echo` retries it). */
async function seed(path: string): Promise<void> {
  const engine = await createEngine({
    storage: createSqliteStorage({ path }),
    vault: { key: Buffer.alloc(32, 3) },
  });
  const gated = (n: number) =>
    `- \`echo step ${n}\` (name: s${n}, requires_approval: true, idempotent: true)`;
  await engine.runbooks.create(`# Gated thrice\n\n## Main Steps\n${[1, 2, 3].map(gated).join("\n")}\n`, {
    actor: { id: "author", roles: ["admin"] },
    status: "approved",
  });
  for (const title of ["Disk full on db-01", "High CPU on web-02", "OOM on api-03"])
    await engine.tickets.ingest(
      { title, environment: "prod", service: "db", source: "test" },
      { autoExecute: false },
    );
  await engine.close();
}

describe("notifications after a crash", () => {
  it("announces every approval exactly once, in order per session, across SIGKILLs around the request", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-notify-crash-"));
    const path = join(dir, "runwarden.db");
    await seed(path);
    receiver = await startReceiver();
    const rcv = receiver;

    const runs: [point: string, nth: number][] = [
      ["stored", 1],
      ["enqueued", 1],
      ["received", 1],
      ["delivered", 1],
      ["stored", 2],
      ["received", 2],
      ["enqueued", 1],
      ["delivered", 1],
    ];
    /** Delivery ids whose POST arrived while the process was killed: the only allowed repeats. */
    const cutOff: string[] = [];
    for (const [index, [point, nth]] of runs.entries()) {
      rcv.run(index);
      const run = child(path, rcv.url, point, nth);
      if (point === "received") {
        let count = 0;
        const arm = () =>
          rcv.hold((res) => {
            if (++count < nth) {
              res.writeHead(204).end();
              arm();
              return;
            }
            cutOff.push(rcv.receipts.at(-1)!.deliveryId);
            run.proc.kill("SIGKILL");
            void run.done.then(() => res.destroy());
          });
        arm();
      }
      const exit = await run.done;
      expect(exit.split("\n")[0], `${point} #${nth}: ${exit}`).toBe("SIGKILL");
      if (point !== "received") expect(exit).toContain(`dying at ${point}`);
    }
    rcv.run(runs.length);
    const last = child(path, rcv.url, "none", 0);
    const lastExit = await last.done;
    expect(lastExit).toMatch(/^0\n[\s\S]*done/);
    expect(lastExit).not.toContain("unexpected");
    expect(rcv.refused).toEqual([]);

    const check = createSqliteStorage({ path });
    try {
      const approvals = await check.approvals.find({ order: "asc" });
      const sessions = await check.sessions.find({ order: "asc" });
      expect(sessions.map((s) => s.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(approvals).toHaveLength(9);
      expect(approvals.every((a) => a.status === "approved")).toBe(true);

      // One delivery id per approval, each the outbox's deterministic key.
      const byId = new Map<string, Receipt>();
      for (const r of rcv.receipts) {
        const earlier = byId.get(r.deliveryId);
        if (earlier) expect({ ...r, run: 0 }).toEqual({ ...earlier, run: 0 });
        else byId.set(r.deliveryId, r);
      }
      expect([...byId.values()].map((r) => r.approvalId).sort((a, b) => a - b)).toEqual(
        approvals.map((a) => a.id),
      );
      for (const a of approvals)
        expect(byId.get(`notify:webhook:${a.ticketId}:approval.requested:${a.id}:0`)?.approvalId).toBe(a.id);
      expect([...byId.values()].every((r) => r.event === "approval.requested")).toBe(true);

      // A POST is repeated only by a later process, after the one that sent it was killed before
      // marking it delivered (the held ones, and any the other delivery lane had in flight): never
      // twice by one process, and with the same delivery id, so the receiver drops the repeat.
      expect(cutOff).toHaveLength(2);
      for (const id of cutOff)
        expect(rcv.receipts.filter((r) => r.deliveryId === id).length).toBeGreaterThan(1);
      for (const id of byId.keys()) {
        const runsOf = rcv.receipts.filter((r) => r.deliveryId === id).map((r) => r.run);
        expect(new Set(runsOf).size, `${id} sent by runs ${runsOf}`).toBe(runsOf.length);
        expect(runsOf.slice(0, -1).every((n) => n < runs.length)).toBe(true);
      }
      // At most the two delivery lanes' POSTs in flight per kill.
      expect(rcv.receipts.length - byId.size).toBeLessThanOrEqual(2 * runs.length);

      // In order per session: first arrivals follow the approvals' order.
      for (const session of sessions) {
        const first = [...byId.values()].filter((r) => r.sessionId === session.id).map((r) => r.approvalId);
        expect(first).toEqual(approvals.filter((a) => a.sessionId === session.id).map((a) => a.id));
        expect(first).toHaveLength(3);
      }

      const rows = await check.outbox.find({ where: { target: "notify:webhook" } });
      expect(rows).toHaveLength(9);
      expect(rows.every((r) => r.status === "delivered")).toBe(true);
      // On each execution's timeline once per approval: a cut-off POST was never recorded as sent.
      const sent = await check.audit.find({ where: { action: "notification.sent" } });
      expect(sent).toHaveLength(9);
    } finally {
      await check.close();
    }
  }, 180_000);
});
