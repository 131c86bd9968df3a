/**
 * The zabbix connector against a real Zabbix (scripts/services/zabbix.sh: Zabbix 6.0 from
 * Debian 12, or 7.0 on Debian 13). Each test creates its own host group, host, trapper item and
 * trigger with unique names through the API, fires the trigger with zabbix_sender, follows it
 * through Runwarden, reads the outcome back with Zabbix's own problem.get, and deletes what it made.
 *
 * With RUNWARDEN_IT=1 a missing Zabbix fails the run; without it the tests are skipped.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  createEngine,
  type Engine,
  type MonitoringConnector,
  type Ticket,
  type TicketInput,
} from "@runwarden/core";
import { afterAll, describe, expect, it } from "vitest";
import zabbix, { mediaTypeYaml } from "../src/index.js";
import {
  activeSessions,
  adminClient,
  endSession,
  fire,
  until,
  ZABBIX_PASSWORD,
  ZABBIX_URL,
  ZABBIX_USER,
  zabbixVersion,
} from "./real-zabbix.js";
import { testContext } from "./support.js";

const required = process.env.RUNWARDEN_IT === "1";
const version = await zabbixVersion();
if (!version && required) {
  throw new Error(
    `Zabbix is required (RUNWARDEN_IT=1) but its API does not answer at ${ZABBIX_URL}: run scripts/services/zabbix.sh`,
  );
}
const ready = version !== undefined;

const run = randomUUID().slice(0, 8);
const WEBHOOK_SECRET = `zbx-webhook-secret-${randomUUID()}`;
const admin = ready ? await adminClient() : undefined;

interface Fixture {
  groupId: string;
  hostId: string;
  host: string;
  key: string;
  triggerId: string;
  name: string;
}

const made: {
  hostIds: string[];
  groupIds: string[];
  actionIds: string[];
  userIds: string[];
  mediaIds: string[];
  tokenIds: string[];
} = { hostIds: [], groupIds: [], actionIds: [], userIds: [], mediaIds: [], tokenIds: [] };

/** A host group, a host, a trapper item and a trigger (manual close allowed), all named for this run. */
async function makeTrigger(label: string, name: string, manualClose = true): Promise<Fixture> {
  const z = admin!;
  const host = `rw-it-${run}-${label}`;
  const { groupids } = await z.call<{ groupids: string[] }>("hostgroup.create", {
    name: `Runwarden IT ${run} ${label}`,
  });
  const groupId = groupids[0]!;
  made.groupIds.push(groupId);
  const { hostids } = await z.call<{ hostids: string[] }>("host.create", {
    host,
    groups: [{ groupid: groupId }],
  });
  const hostId = hostids[0]!;
  made.hostIds.push(hostId);
  const key = "runwarden.queue";
  await z.call("item.create", {
    hostid: hostId,
    name: "Queue length",
    key_: key,
    type: 2, // Zabbix trapper
    value_type: 3, // numeric unsigned
  });
  const { triggerids } = await z.call<{ triggerids: string[] }>("trigger.create", {
    description: name,
    expression: `last(/${host}/${key})>100`,
    priority: 4, // High
    manual_close: manualClose ? 1 : 0,
    tags: [
      { tag: "service", value: "checkout" },
      { tag: "env", value: "it" },
      { tag: "component", value: "queue" },
      { tag: "runwarden_run", value: run },
    ],
  });
  return { groupId, hostId, host, key, triggerId: triggerids[0]!, name };
}

interface ProblemRow {
  eventid: string;
  r_eventid: string;
  acknowledged: string;
  name: string;
  acknowledges: { action: string; message: string }[];
}

async function problemsOf(triggerId: string): Promise<ProblemRow[]> {
  return admin!.call<ProblemRow[]>("problem.get", {
    objectids: [triggerId],
    recent: true,
    output: ["eventid", "r_eventid", "acknowledged", "name"],
    selectAcknowledges: ["action", "message"],
  });
}

/** An API token of the admin user for this run (6.0: created with token.create, then token.generate). */
async function apiToken(): Promise<string> {
  const z = admin!;
  const [me] = await z.call<{ userid: string }[]>("user.get", {
    filter: { username: "Admin" },
    output: ["userid"],
  });
  const { tokenids } = await z.call<{ tokenids: string[] }>("token.create", {
    name: `runwarden-it-${run}`,
    userid: me!.userid,
  });
  made.tokenIds.push(tokenids[0]!);
  const [generated] = await z.call<{ token: string }[]>("token.generate", tokenids);
  return generated!.token;
}

/** Active sessions of the admin user other than the tests' own. */
function sessionsOfAdmin(): string[] {
  return activeSessions(ZABBIX_USER, admin!.session);
}

function connectorConfig(overrides: Record<string, unknown> = {}) {
  return {
    webhookAuth: { type: "bearer", secret: WEBHOOK_SECRET },
    url: ZABBIX_URL,
    auth: { type: "password", username: ZABBIX_USER, password: ZABBIX_PASSWORD },
    pull: { tags: [{ tag: "runwarden_run", value: run }] },
    ...overrides,
  };
}

async function engineWith(overrides: Record<string, unknown> = {}): Promise<Engine> {
  return createEngine({
    vault: { key: Buffer.alloc(32, 9) },
    connectors: [{ connector: zabbix, config: connectorConfig(overrides) }],
    monitoring: { zabbix: { manual: true, idleMs: 50 } },
  });
}

afterAll(async () => {
  if (!admin) return;
  const failures: string[] = [];
  for (const [method, ids] of [
    ["action.delete", made.actionIds],
    ["user.delete", made.userIds],
    ["token.delete", made.tokenIds],
    ["mediatype.delete", made.mediaIds],
    ["host.delete", made.hostIds],
    ["hostgroup.delete", made.groupIds],
  ] as const) {
    if (ids.length === 0) continue;
    await admin.call(method, ids).catch((error: unknown) => failures.push(String(error)));
  }
  await admin.logout();
  // What a test made must not outlive it: a failed clean-up fails the run.
  expect(failures).toEqual([]);
});

describe.skipIf(!ready)(`zabbix connector → real Zabbix ${version ?? "(not running)"}`, () => {
  it("pulls a problem into a ticket, acknowledges it when a session starts, notes the approval and the outcome, and closes it when the ticket resolves", async () => {
    const fx = await makeTrigger("pull", `Queue backlog on rw-it-${run}`);
    const [problem] = await fire(
      fx.host,
      fx.key,
      "500",
      () => problemsOf(fx.triggerId),
      (rows) => rows.length === 1,
      "problem",
    );

    const engine = await engineWith();
    await engine.runbooks.create(
      `---
match:
  keywords: [queue backlog]
auto_execute: true
connection: local
---
# Drain the queue

## Main Steps
- \`echo draining\` (name: drain, severity: safe, requires_approval: true)
`,
      { actor: { id: "author", roles: ["admin"] }, status: "approved" },
    );
    await engine.start();
    try {
      const poller = engine.monitoring.poller("zabbix")!;
      const polled = await poller.poll({ force: true });
      expect(polled).toMatchObject({ outcome: "pulled", alerts: 1, created: 1 });

      const [ticket] = (await engine.tickets.list({ source: "zabbix" })).items;
      expect(ticket).toMatchObject({
        title: fx.name,
        externalId: problem!.eventid,
        severity: "high",
        environment: "it",
        service: "checkout",
      });
      expect(ticket!.metaData).toMatchObject({
        eventId: problem!.eventid,
        triggerId: fx.triggerId,
        host: fx.host,
        component: "queue",
        zabbixSeverity: 4,
      });
      expect(ticket!.description).toContain(`Host: ${fx.host}`);

      // The runbook runs (a session) to its approval, which a person gives.
      const [approval] = await until(
        async () => (await engine.approvals.list({ status: "pending" })).items,
        (items) => items.length === 1,
        30_000,
        "pending approval",
      );
      await engine.approvals.approve(approval!.id, { actor: { id: "alice", roles: ["approver"] } });
      // The ticket resolves: acknowledge, notes, then close.
      await until(
        () => engine.tickets.get(ticket!.id),
        (t) => t.status === "resolved",
        30_000,
        "resolved ticket",
      );
      const [session] = (await engine.executions.list({ ticketId: ticket!.id })).items;
      expect(session).toBeDefined();
      await until(
        async () => {
          await poller.flush();
          return poller.status();
        },
        (s) => s.pendingActions === 0,
        30_000,
        "delivered acknowledge and resolve",
      );
      expect((await poller.status()).deadActions).toBe(0);

      // As Zabbix itself sees it: acknowledged with a message naming the session, then closed.
      const [after] = await until(
        () => problemsOf(fx.triggerId),
        (rows) => rows[0]?.r_eventid !== "0",
        30_000,
        "closed problem",
      );
      expect(after!.acknowledged).toBe("1");
      const messages = after!.acknowledges.map((a) => a.message);
      expect(messages).toContain(
        `Runwarden: remediation session ${session!.id} started for Runwarden ticket #${ticket!.id} (${fx.name}).`,
      );
      expect(messages).toContain(
        `Runwarden: Runwarden session ${session!.id}: approval ${approval!.id} approved by alice.`,
      );
      expect(messages).toContain(`Runwarden: Runwarden session ${session!.id} succeeded.`);
      expect(
        messages.some((m) =>
          m.startsWith(`Runwarden: Runwarden session ${session!.id}: approval ${approval!.id} requested`),
        ),
      ).toBe(true);
      expect(
        messages.some((m) =>
          m.startsWith(
            `Runwarden: Runwarden ticket #${ticket!.id} resolved by remediation session ${session!.id}.`,
          ),
        ),
      ).toBe(true);
      // Acknowledge = 2 (ack) | 4 (message); three notes = 4 (message only); close = 1 | 4.
      expect(after!.acknowledges.map((a) => Number(a.action) & 7).sort()).toEqual([4, 4, 4, 5, 6]);
    } finally {
      await engine.close();
    }
  });

  it("resolves the ticket of a problem that recovered between two pulls", async () => {
    const fx = await makeTrigger("recover", `Disk almost full on rw-it-${run}`);
    const engine = await engineWith();
    await engine.start();
    try {
      const poller = engine.monitoring.poller("zabbix")!;
      await fire(
        fx.host,
        fx.key,
        "900",
        () => problemsOf(fx.triggerId),
        (rows) => rows.length === 1,
        "problem",
      );
      expect(await poller.poll({ force: true })).toMatchObject({ outcome: "pulled", created: 1 });
      const [ticket] = (await engine.tickets.list({ source: "zabbix" })).items;
      expect(ticket!.status).not.toBe("resolved");

      await fire(
        fx.host,
        fx.key,
        "1",
        () => problemsOf(fx.triggerId),
        (rows) => rows[0]?.r_eventid !== "0",
        "recovery",
      );
      const second = await poller.poll({ force: true });
      expect(second).toMatchObject({ outcome: "pulled", resolved: 1 });
      expect((await engine.tickets.get(ticket!.id)).status).toBe("resolved");
    } finally {
      await engine.close();
    }
  });

  it("takes a problem and its recovery from the imported media type, driven by a real Zabbix action", async () => {
    const z = admin!;
    const fx = await makeTrigger("webhook", `Webhook backlog on rw-it-${run}`);
    const engine = await engineWith();
    await engine.start();
    const received: { authorization: string | undefined; body: Record<string, string> }[] = [];
    const server: Server = createServer((req, res) => {
      let raw = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        raw += chunk;
      });
      req.on("end", () => {
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        received.push({ authorization: headers.authorization, body: body as Record<string, string> });
        engine.tickets
          .ingestWebhook("zabbix", { headers, body, rawBody: raw })
          .then(() => {
            res.writeHead(202).end("{}");
          })
          .catch((error: unknown) => {
            res.writeHead(400).end(String((error as Error).message));
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const webhookUrl = `http://127.0.0.1:${port}/api/v1/tickets/webhook/zabbix`;
    try {
      // The shipped export, imported as a user would, then its URL and Secret set.
      const mediaName = `Runwarden ${run}`;
      await z.call("configuration.import", {
        format: "yaml",
        rules: { mediaTypes: { createMissing: true, updateExisting: false } },
        source: mediaTypeYaml({ url: webhookUrl }).replace("name: Runwarden\n", `name: ${mediaName}\n`),
      });
      const [media] = await z.call<{ mediatypeid: string; parameters: { name: string; value: string }[] }[]>(
        "mediatype.get",
        { filter: { name: mediaName }, output: "extend" },
      );
      made.mediaIds.push(media!.mediatypeid);
      await z.call("mediatype.update", {
        mediatypeid: media!.mediatypeid,
        parameters: media!.parameters.map((p) => (p.name === "Secret" ? { ...p, value: WEBHOOK_SECRET } : p)),
      });
      const [group] = await z.call<{ usrgrpid: string }[]>("usergroup.get", {
        filter: { name: "Zabbix administrators" },
        output: ["usrgrpid"],
      });
      const [role] = await z.call<{ roleid: string }[]>("role.get", {
        filter: { name: "Super admin role" },
        output: ["roleid"],
      });
      const { userids } = await z.call<{ userids: string[] }>("user.create", {
        username: `runwarden-it-${run}`,
        passwd: `Rw-${randomUUID()}`,
        roleid: role!.roleid,
        usrgrps: [{ usrgrpid: group!.usrgrpid }],
        medias: [
          {
            mediatypeid: media!.mediatypeid,
            sendto: ["runwarden"],
            active: 0,
            severity: 63,
            period: "1-7,00:00-24:00",
          },
        ],
      });
      made.userIds.push(userids[0]!);
      const { actionids } = await z.call<{ actionids: string[] }>("action.create", {
        name: `Runwarden IT ${run}`,
        eventsource: 0,
        status: 0,
        esc_period: "1h",
        filter: { evaltype: 0, conditions: [{ conditiontype: 1, operator: 0, value: fx.hostId }] },
        operations: [
          {
            operationtype: 0,
            opmessage: { default_msg: 1, mediatypeid: media!.mediatypeid },
            opmessage_usr: [{ userid: userids[0]! }],
          },
        ],
        recovery_operations: [{ operationtype: 11, opmessage: { default_msg: 1 } }],
        update_operations: [{ operationtype: 12, opmessage: { default_msg: 1 } }],
      });
      made.actionIds.push(actionids[0]!);
      // The new action and media type reach the server with its next configuration sync (2 s).
      await new Promise((resolve) => setTimeout(resolve, 4_000));

      const [problem] = await fire(
        fx.host,
        fx.key,
        "700",
        () => problemsOf(fx.triggerId),
        (rows) => rows.length === 1,
        "problem",
      );
      const ticket = await until(
        async () =>
          (await engine.tickets.list({ source: "zabbix" })).items.find(
            (t) => t.externalId === problem!.eventid,
          ),
        (t) => t !== undefined,
        60_000,
        "ticket from the media type",
      );
      expect(received[0]!.authorization).toBe(`Bearer ${WEBHOOK_SECRET}`);
      expect(received[0]!.body).not.toHaveProperty("Secret");
      expect(received[0]!.body).toMatchObject({
        "EVENT.ID": problem!.eventid,
        "EVENT.VALUE": "1",
        "HOST.HOST": fx.host,
      });
      expect(ticket).toMatchObject({
        title: fx.name,
        severity: "high",
        service: "checkout",
        environment: "it",
      });
      expect(ticket!.metaData).toMatchObject({ via: "webhook", triggerId: fx.triggerId, host: fx.host });

      // Acknowledged through the API, Zabbix sends an update notification: it changes no ticket.
      const writer = zabbix.create(
        zabbix.configSchema.parse(connectorConfig()),
        testContext(),
      ) as MonitoringConnector;
      await writer.acknowledge!(ticket!, { signal: AbortSignal.timeout(10_000) });
      await writer.close!();
      const update = await until(
        async () => received.find((r) => r.body["EVENT.UPDATE.STATUS"] === "1"),
        (r) => r !== undefined,
        60_000,
        "update notification",
      );
      expect(update!.body["EVENT.UPDATE.ACTION"]).toMatch(/acknowledged/);
      const afterUpdate = (await engine.tickets.list({ source: "zabbix" })).items.filter(
        (t) => t.externalId === problem!.eventid,
      );
      expect(afterUpdate.map((t) => t.status)).toEqual([ticket!.status]);

      await fire(
        fx.host,
        fx.key,
        "2",
        () => problemsOf(fx.triggerId),
        (rows) => rows[0]?.r_eventid !== "0",
        "recovery",
      );
      await until(
        () => engine.tickets.get(ticket!.id),
        (t) => t.status === "resolved",
        60_000,
        "resolved by recovery",
      );
      const recovery = received.find((r) => r.body["EVENT.VALUE"] === "0");
      expect(recovery!.body["EVENT.ID"]).toBe(problem!.eventid);
      // RUNWARDEN_ZABBIX_CAPTURE=<dir> keeps the three calls (how test/fixtures/zabbix-6.0-media-type-*.json were made).
      const capture = process.env.RUNWARDEN_ZABBIX_CAPTURE;
      if (capture) {
        writeFileSync(join(capture, "problem.json"), `${JSON.stringify(received[0]!.body, null, 2)}\n`);
        writeFileSync(join(capture, "recovery.json"), `${JSON.stringify(recovery!.body, null, 2)}\n`);
        writeFileSync(join(capture, "update.json"), `${JSON.stringify(update!.body, null, 2)}\n`);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
    }
  });

  it("only adds its message, with an API token in the body, when the trigger does not allow manual close", async () => {
    const fx = await makeTrigger("noclose", `Manual close off on rw-it-${run}`, false);
    const [problem] = await fire(
      fx.host,
      fx.key,
      "300",
      () => problemsOf(fx.triggerId),
      (rows) => rows.length === 1,
      "problem",
    );
    const connector = zabbix.create(
      zabbix.configSchema.parse(connectorConfig({ auth: { type: "token", token: await apiToken() } })),
      testContext(),
    ) as MonitoringConnector;
    const ticket = {
      id: 4242,
      title: fx.name,
      externalId: problem!.eventid,
      metaData: { eventId: problem!.eventid },
      statusReason: null,
    } as unknown as Ticket;
    await connector.resolve!(ticket, { signal: AbortSignal.timeout(10_000) });
    const [open] = await problemsOf(fx.triggerId);
    expect(open!.r_eventid).toBe("0");
    expect(open!.acknowledges.map((a) => [Number(a.action), a.message])).toEqual([
      [4, "Runwarden: Runwarden ticket #4242 resolved."],
    ]);
    await connector.close!();
  });

  it("signs in again when Zabbix ended its session, and logs out on close", async () => {
    const connector = zabbix.create(
      zabbix.configSchema.parse(connectorConfig()),
      testContext(),
    ) as MonitoringConnector;
    const others = sessionsOfAdmin();
    expect(await connector.healthCheck!({ signal: AbortSignal.timeout(10_000) })).toMatchObject({ ok: true });
    const [first, ...extra] = sessionsOfAdmin().filter((s) => !others.includes(s));
    expect(extra).toEqual([]);
    endSession(first!);
    // The next call meets "Session terminated": one new login, and the call succeeds.
    expect(await connector.healthCheck!({ signal: AbortSignal.timeout(10_000) })).toMatchObject({ ok: true });
    const renewed = sessionsOfAdmin().filter((s) => !others.includes(s));
    expect(renewed).toHaveLength(1);
    expect(renewed[0]).not.toBe(first);
    await connector.close!();
    expect(sessionsOfAdmin()).not.toContain(renewed[0]);
  });

  it("checks its health with the password and refuses a wrong one with an auth code", async () => {
    const good = zabbix.create(
      zabbix.configSchema.parse(connectorConfig()),
      testContext(),
    ) as MonitoringConnector;
    expect(await good.healthCheck!({ signal: AbortSignal.timeout(10_000) })).toMatchObject({ ok: true });
    await good.close!();
    const bad = zabbix.create(
      zabbix.configSchema.parse(
        connectorConfig({
          auth: { type: "password", username: `nobody-${run}`, password: "wrong-password" },
        }),
      ),
      testContext(),
    ) as MonitoringConnector;
    const pulled: TicketInput[] = [];
    const failure = await (async () => {
      for await (const t of bad.pull!({ signal: AbortSignal.timeout(10_000) })) pulled.push(t);
    })().catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(failure)).not.toContain("wrong-password");
  });
});
