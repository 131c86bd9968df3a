/**
 * A fake Teams Workflows webhook for tests. It enforces the request shape the "Post to a channel
 * when a webhook request is received" template documents (a `message` with one attachment of
 * `contentType: application/vnd.microsoft.card.adaptive`) and the Adaptive Card schema version
 * the card declares: every element and action must exist in that version (adaptivecards.io's
 * per-element "Introduced in version"), and versions above 1.5 (Teams' highest) are refused.
 * Accepted requests answer 202 like the workflow trigger. A path other than its own is 401.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

// biome-ignore lint/suspicious/noExplicitAny: the tests read card JSON field by field
type Json = any;

/** Element/action type → the schema version it was introduced in. */
const introduced: Record<string, number> = {
  TextBlock: 1.0,
  Image: 1.0,
  Container: 1.0,
  ColumnSet: 1.0,
  FactSet: 1.0,
  ImageSet: 1.0,
  ActionSet: 1.2,
  RichTextBlock: 1.2,
  Table: 1.5,
  "Action.OpenUrl": 1.0,
  "Action.Submit": 1.0,
  "Action.ShowCard": 1.0,
  "Action.ToggleVisibility": 1.2,
  "Action.Execute": 1.4,
};
/** Properties introduced after 1.0 that the fake checks. */
const propertyIntroduced: Record<string, number> = { fontType: 1.2, wrap: 1.0, style: 1.0 };

export async function fakeTeams() {
  const cards: Record<string, unknown>[] = [];
  const refusals: string[] = [];
  const path = `/workflows/${Math.random().toString(36).slice(2)}/triggers/manual/paths/invoke?sig=s3cr3t-sig`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const refuse = (status: number, why: string) => {
        refusals.push(why);
        res
          .writeHead(status, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { message: why } }));
      };
      if (req.url !== path) return refuse(401, "bad signature");
      if (req.method !== "POST" || !String(req.headers["content-type"]).startsWith("application/json"))
        return refuse(415, "json only");
      let msg: Record<string, Json>;
      try {
        msg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return refuse(400, "invalid json");
      }
      if (msg.type !== "message" || !Array.isArray(msg.attachments) || msg.attachments.length !== 1)
        return refuse(400, "not a message with one attachment");
      const att = msg.attachments[0];
      if (att.contentType !== "application/vnd.microsoft.card.adaptive")
        return refuse(400, "not an adaptive card");
      const card = att.content;
      if (card?.type !== "AdaptiveCard" || typeof card.version !== "string")
        return refuse(400, "no card version");
      const version = Number(card.version);
      if (!/^1\.\d$/.test(card.version) || version > 1.5)
        return refuse(400, `unsupported card version ${card.version}`);
      const check = (node: Record<string, Json>): string | undefined => {
        const since = introduced[node.type];
        if (since === undefined) return `unknown element ${node.type}`;
        if (since > version) return `${node.type} needs ${since}, card declares ${card.version}`;
        for (const [prop, v] of Object.entries(propertyIntroduced))
          if (prop in node && v > version) return `${node.type}.${prop} needs ${v}`;
        if (node.type === "TextBlock" && typeof node.text !== "string") return "TextBlock without text";
        if (node.type === "FactSet" && !Array.isArray(node.facts)) return "FactSet without facts";
        if (node.type === "Action.OpenUrl" && !/^https?:\/\//.test(String(node.url)))
          return "OpenUrl without url";
        for (const child of [...(node.items ?? []), ...(node.actions ?? [])]) {
          const bad = check(child);
          if (bad) return bad;
        }
        return undefined;
      };
      for (const node of [...(card.body ?? []), ...(card.actions ?? [])]) {
        const bad = check(node);
        if (bad) return refuse(400, bad);
      }
      cards.push(card);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}${path}`,
    wrongUrl: `${base}/workflows/other/triggers/manual/paths/invoke?sig=wrong-signature`,
    cards,
    refusals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
