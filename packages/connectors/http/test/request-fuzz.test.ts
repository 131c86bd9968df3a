/**
 * Issue 13, "Prove it": a differential fuzzer for HTTP steps, through the engine (core renders
 * the template) and this connector, to a loopback node:http server that records the raw request
 * target. Generated templates put placeholders in path segments and query values; values are
 * hostile (`..`, `/`, `%2F`, `?`, `#`, `@`, `\`, unicode). An accepted request must have exactly
 * the template's segments, each placeholder segment and query value decoding back to the exact
 * value, and must reach the connection's origin only (a second server on another port of the same
 * host sees nothing). A value that would make a path segment `.` or `..` must be refused before
 * anything is sent.
 *
 * Fixed seed, bounded runs: RUNWARDEN_FUZZ_RUNS (default 200) and RUNWARDEN_FUZZ_SEED.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Actor, createEngine, type Engine } from "@runwarden/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import httpConnector from "../src/index.js";

const runs = Number(process.env.RUNWARDEN_FUZZ_RUNS ?? 200);
const seed = Number(process.env.RUNWARDEN_FUZZ_SEED ?? 1313);
const admin: Actor = { id: "admin", roles: ["admin"] };
const operator: Actor = { id: "op", roles: ["operator", "approver"] };
const token = `fuzz-token-${randomBytes(4).toString("hex")}`;

interface Seen {
  target: string;
  headers: IncomingHttpHeaders;
}

async function recordingServer(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    // req.url is the request target exactly as it arrived on the request line.
    seen.push({ target: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

let home: Awaited<ReturnType<typeof recordingServer>>;
let other: Awaited<ReturnType<typeof recordingServer>>;
let engine: Engine;

beforeAll(async () => {
  home = await recordingServer();
  other = await recordingServer();
  engine = await createEngine({ vault: { key: randomBytes(32) }, connectors: [httpConnector] });
  await engine.start();
  const credential = await engine.credentials.create(
    { name: "api", credentialType: "api", environment: "fuzz", token },
    { actor: admin },
  );
  await engine.connections.create(
    {
      name: "api",
      connectionType: "api",
      credentialId: credential.id,
      targetHost: "127.0.0.1",
      targetPort: home.port,
      environment: "fuzz",
      options: { scheme: "http" },
    },
    { actor: admin },
  );
});

afterAll(async () => {
  await engine?.close();
  for (const s of [home, other]) await new Promise<void>((resolve) => s?.server.close(() => resolve()));
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: the renderer refuses control characters; not generated
const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "..",
        ".",
        "/",
        "%2F",
        "%2e",
        "?",
        "#",
        "@",
        "\\",
        "&",
        "=",
        "+",
        ";",
        ":",
        "ü",
        "😀",
        " ",
      ),
      fc.string({ unit: "grapheme", maxLength: 3 }),
    ),
    { maxLength: 5 },
  )
  .map((p) => p.join(""))
  .filter((v) => !control.test(v));
/** Whole-segment dot values come up often enough to exercise the refusal. */
const value = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(".", "..") },
  { weight: 6, arbitrary: hostile },
);

/** A path segment: a literal, or a placeholder for a generated value. */
const segment = fc.oneof(
  fc.constantFrom("v1", "services", "restart", "a.b"),
  value.map((v) => ({ v })),
);
const request = fc.record({
  segments: fc.array(segment, { minLength: 1, maxLength: 5 }),
  query: fc.array(value, { maxLength: 3 }),
  absolute: fc.boolean(),
});

let n = 0;
async function send(target: string, metaData: Record<string, string>) {
  n++;
  const { ticket } = await engine.tickets.ingest(
    {
      title: `http fuzz ${n}`,
      description: "",
      severity: "low",
      environment: "fuzz",
      service: "api",
      source: "test",
      metaData,
    },
    { autoExecute: false },
  );
  const { runbook } = await engine.runbooks.create(
    `# Fuzz ${n}\n\n## Main Steps\n\n\`\`\`http {connection=api}\nGET ${target}\n\`\`\`\n`,
    { actor: admin, status: "approved" },
  );
  const { session, plan } = await engine.executions.start(ticket.id, runbook.id, { actor: operator });
  await engine.executions.settled(session.id);
  return { plan, detail: await engine.executions.get(session.id) };
}

describe("HTTP steps under a differential fuzzer", () => {
  it("keeps every value inside its segment or query value and sends only to the connection's origin", async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ segments, query, absolute }) => {
        const metaData: Record<string, string> = {};
        let k = 0;
        const place = (v: string) => {
          const name = `p${k++}`;
          metaData[name] = v;
          return `{{ticket.meta_data.${name}}}`;
        };
        const path = segments.map((s) => (typeof s === "string" ? s : place(s.v)));
        const params = query.map((v, i) => `q${i}=${place(v)}`);
        const target = `${absolute ? `http://127.0.0.1:${home.port}` : ""}/${path.join("/")}${params.length ? `?${params.join("&")}` : ""}`;
        const first = segments[0];
        const mustRefuse =
          segments.some((s) => typeof s !== "string" && (s.v === "." || s.v === "..")) ||
          (!absolute && typeof first !== "string" && first?.v === "");
        const before = home.seen.length;
        const { plan, detail } = await send(target, metaData);
        expect(other.seen).toHaveLength(0);
        if (mustRefuse) {
          expect(plan?.[0]?.error).toMatch(/RW_ERR_EXEC_TEMPLATE/);
          expect(home.seen.length).toBe(before);
          return;
        }
        expect(plan?.[0]?.error ?? null).toBeNull();
        expect(detail.steps[0]?.status).toBe("succeeded");
        expect(home.seen.length).toBe(before + 1);
        const seen = home.seen.at(-1)!;
        expect(seen.headers.authorization).toBe(`Bearer ${token}`);
        const [rawPath, rawQuery] = splitOnce(seen.target, "?");
        const got = rawPath.split("/").slice(1);
        expect(got).toHaveLength(segments.length);
        segments.forEach((s, i) => {
          expect(decodeURIComponent(got[i]!)).toBe(typeof s === "string" ? s : s.v);
        });
        const pairs = rawQuery === undefined ? [] : rawQuery.split("&");
        expect(pairs).toHaveLength(query.length);
        query.forEach((v, i) => {
          const [name, raw] = splitOnce(pairs[i]!, "=");
          expect(name).toBe(`q${i}`);
          expect(decodeURIComponent(raw ?? "")).toBe(v);
        });
      }),
      { seed, numRuns: runs },
    );
  });
});

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const i = text.indexOf(separator);
  return i === -1 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}
