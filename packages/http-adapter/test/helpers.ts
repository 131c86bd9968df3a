/** Shared test setup: a real engine (memory store), the adapter, and a token per role. */
import { randomBytes } from "node:crypto";
import { createEngine, type Engine, type Role, type Storage } from "@runwarden/core";
import { createHttpAdapter, type HttpAdapter, type HttpAdapterOptions } from "../src/index.js";

export interface Harness {
  engine: Engine;
  adapter: HttpAdapter;
  tokens: Record<"viewer" | "operator" | "approver" | "admin" | "approver2", string>;
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON answers field by field
  json<T = any>(
    method: string,
    path: string,
    options?: CallOptions,
  ): Promise<{ status: number; body: T; res: Response }>;
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string | null;
  json?: unknown;
  body?: string | FormData | Uint8Array;
  headers?: Record<string, string | undefined>;
}

export async function setup(
  options: {
    storage?: Storage;
    adapter?: Partial<HttpAdapterOptions>;
    engine?: Parameters<typeof createEngine>[0];
  } = {},
): Promise<Harness> {
  const engine = await createEngine({
    ...(options.storage ? { storage: options.storage } : {}),
    vault: { key: randomBytes(32) },
    ...options.engine,
  });
  await engine.start();
  const adapter = createHttpAdapter({ engine, validateResponses: true, ...options.adapter });
  const mint = async (actor: string, roles: Role[]) => (await adapter.tokens.create({ actor, roles })).token;
  const tokens = {
    viewer: await mint("vera", ["viewer"]),
    operator: await mint("otto", ["operator"]),
    approver: await mint("alice", ["approver"]),
    approver2: await mint("bob", ["approver"]),
    admin: await mint("root", ["admin"]),
  };
  const base = `http://test${adapter.basePath}`;
  const call = (method: string, path: string, o: CallOptions = {}) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = v;
    const token = o.token === undefined ? tokens.admin : o.token;
    if (token) headers["authorization"] = `Bearer ${token}`;
    let body = o.body;
    if (o.json !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(o.json);
    }
    return adapter.fetch(
      new Request(base + path, { method, headers, ...(body !== undefined ? { body } : {}) }),
    );
  };
  return {
    engine,
    adapter,
    tokens,
    call,
    async json(method, path, o) {
      const res = await call(method, path, o);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, res };
    },
    async close() {
      adapter.close();
      await engine.close();
    },
  };
}

/** A simple runbook with one approval step, run on the local connector. */
export const approvalRunbook = `---
id: disk-check
status: approved
auto_execute: false
match:
  keywords: [disk]
---
# Disk check

## Prechecks
- \`echo checking\`

## Main Steps
- \`echo cleaning {{ticket.service}}\` (severity: medium_risk, requires_approval: true)

## Postchecks
- \`echo verified\`
`;
