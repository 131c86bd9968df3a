/**
 * A fake Slack Web API for tests: `chat.postMessage` and `chat.update` as Slack documents them
 * (https://api.slack.com/methods/chat.postMessage, /chat.update): a bot token in
 * `Authorization: Bearer`, a JSON body (`application/json`), `channel` required, `text` or
 * `blocks`; Block Kit limits it checks (50 blocks; header text plain_text ≤ 150; section text
 * ≤ 3000; ≤ 10 fields; ≤ 25 action elements; button text ≤ 75, value ≤ 2000, action_id ≤ 255).
 * Errors are HTTP 200 with `{ ok: false, error }`, like Slack. `/response/<id>` takes
 * `response_url` posts (ephemeral replies).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

// biome-ignore lint/suspicious/noExplicitAny: the tests read Slack JSON field by field
type Json = any;

export interface Message {
  channel: string;
  ts: string;
  text?: string;
  blocks?: Record<string, unknown>[];
  updates: number;
}

function blockError(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks) || blocks.length > 50) return "invalid_blocks";
  for (const b of blocks as Record<string, Json>[]) {
    if (!["header", "section", "actions", "context", "divider"].includes(b.type)) return "invalid_blocks";
    if (b.type === "header" && (b.text?.type !== "plain_text" || String(b.text.text).length > 150))
      return "invalid_blocks";
    if (b.type === "section") {
      if (!b.text && !b.fields) return "invalid_blocks";
      if (b.text && String(b.text.text).length > 3000) return "invalid_blocks";
      if (b.fields && (b.fields.length > 10 || b.fields.some((f: Json) => String(f.text).length > 2000)))
        return "invalid_blocks";
    }
    if (b.type === "actions") {
      if (!Array.isArray(b.elements) || b.elements.length > 25) return "invalid_blocks";
      for (const e of b.elements) {
        if (e.type !== "button" || e.text?.type !== "plain_text" || String(e.text.text).length > 75)
          return "invalid_blocks";
        if (String(e.action_id ?? "").length > 255 || String(e.value ?? "").length > 2000)
          return "invalid_blocks";
      }
    }
  }
  return undefined;
}

export async function fakeSlack(token: string) {
  const messages: Message[] = [];
  const ephemeral: Record<string, unknown>[] = [];
  const calls: { method: string; body: Record<string, unknown> }[] = [];
  let seq = 0;
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  const server = createServer(async (req, res) => {
    const text = await read(req);
    const reply = (body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    const path = req.url ?? "";
    if (path.startsWith("/response/")) {
      ephemeral.push(JSON.parse(text));
      res.writeHead(200).end("ok");
      return;
    }
    const method = path.replace(/^\/api\//, "");
    if (req.method !== "POST") return reply({ ok: false, error: "method_not_supported" });
    if (!req.headers.authorization) return reply({ ok: false, error: "not_authed" });
    if (req.headers.authorization !== `Bearer ${token}`) return reply({ ok: false, error: "invalid_auth" });
    if (!String(req.headers["content-type"]).startsWith("application/json"))
      return reply({ ok: false, error: "invalid_form_data" });
    let body: Record<string, Json>;
    try {
      body = JSON.parse(text);
    } catch {
      return reply({ ok: false, error: "invalid_json" });
    }
    calls.push({ method, body });
    if (typeof body.channel !== "string" || body.channel === "")
      return reply({ ok: false, error: "channel_not_found" });
    if (body.text === undefined && body.blocks === undefined) return reply({ ok: false, error: "no_text" });
    if (body.blocks !== undefined) {
      const error = blockError(body.blocks);
      if (error) return reply({ ok: false, error });
    }
    if (method === "chat.postMessage") {
      const ts = `1700000000.${String(++seq).padStart(6, "0")}`;
      messages.push({ channel: body.channel, ts, text: body.text, blocks: body.blocks, updates: 0 });
      return reply({ ok: true, channel: body.channel, ts, message: { text: body.text } });
    }
    if (method === "chat.update") {
      const message = messages.find((m) => m.channel === body.channel && m.ts === body.ts);
      if (!message) return reply({ ok: false, error: "message_not_found" });
      Object.assign(message, { text: body.text, blocks: body.blocks, updates: message.updates + 1 });
      return reply({ ok: true, channel: body.channel, ts: body.ts });
    }
    return reply({ ok: false, error: "unknown_method" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl: `${base}/api`,
    responseUrl: (id: string) => `${base}/response/${id}`,
    messages,
    ephemeral,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
