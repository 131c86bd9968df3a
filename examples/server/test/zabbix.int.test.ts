/**
 * The example server with a real Zabbix (scripts/services/zabbix.sh), configured only by its
 * environment variables: the shipped media type, imported into Zabbix and driven by a real
 * action, posts to the server's webhook endpoint; the server's poller pulls too; the matching
 * runbook runs; the server acknowledges the problem with a message naming the session and closes
 * it. Everything is read back from Zabbix itself (problem.get, alert.get), and what the test made
 * in Zabbix is deleted.
 *
 * With RUNWARDEN_IT=1 a missing Zabbix fails the run; without it the test is skipped.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mediaTypeYaml } from "@runwarden/connector-zabbix";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import {
  adminClient,
  fire,
  until,
  ZABBIX_PASSWORD,
  ZABBIX_URL,
  ZABBIX_USER,
  zabbixVersion,
} from "../../../packages/connectors/zabbix/test/real-zabbix.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

const required = process.env.RUNWARDEN_IT === "1";
const version = await zabbixVersion();
if (!version && required) {
  throw new Error(
    `Zabbix is required (RUNWARDEN_IT=1) but its API does not answer at ${ZABBIX_URL}: run scripts/services/zabbix.sh`,
  );
}
const admin = version ? await adminClient() : undefined;
const run = randomUUID().slice(0, 8);
const secret = `zbx-e2e-secret-${randomUUID()}`;
const dataDir = mkdtempSync(join(tmpdir(), "rw-zabbix-e2e-"));
const made: Record<"actionIds" | "userIds" | "mediaIds" | "hostIds" | "groupIds", string[]> = {
  actionIds: [],
  userIds: [],
  mediaIds: [],
  hostIds: [],
  groupIds: [],
};
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (!admin) return;
  const failures: string[] = [];
  for (const [method, ids] of [
    ["action.delete", made.actionIds],
    ["user.delete", made.userIds],
    ["mediatype.delete", made.mediaIds],
    ["host.delete", made.hostIds],
    ["hostgroup.delete", made.groupIds],
  ] as const) {
    if (ids.length > 0) await admin.call(method, ids).catch((error: unknown) => failures.push(String(error)));
  }
  await admin.logout();
  expect(failures).toEqual([]);
});

describe.skipIf(!version)(`the example server with a real Zabbix ${version ?? "(not running)"}`, () => {
  it("takes the media type's problem, runs the runbook, acknowledges and closes the problem in Zabbix", async () => {
    const z = admin!;
    server = await startServer(
      readConfig({
        PORT: "0",
        RUNWARDEN_DATA_DIR: dataDir,
        RUNWARDEN_CONNECTOR_CONFIG_ZABBIX: JSON.stringify({
          webhookAuth: { type: "bearer", secret },
          url: ZABBIX_URL,
          auth: { type: "password", username: ZABBIX_USER, password: ZABBIX_PASSWORD },
          pull: { tags: [{ tag: "runwarden_run", value: run }] },
        }),
        RUNWARDEN_MONITORING_POLL_ZABBIX: JSON.stringify({ intervalMs: 2_000 }),
      }),
      pino({ level: "silent" }),
    );
    const title = `Widget jam on rw-e2e-${run}`;
    await server.engine.runbooks.create(
      `---\nmatch:\n  keywords: [widget jam]\nauto_execute: true\nconnection: local\n---\n# Clear the widget jam\n\n## Main Steps\n- \`echo clearing\` (name: clear, severity: safe)\n`,
      { actor: { id: "author", roles: ["admin"] }, status: "approved" },
    );

    // Zabbix's side, as the README's steps say: media type, a user with the media, an action.
    const host = `rw-e2e-${run}`;
    const { groupids } = await z.call<{ groupids: string[] }>("hostgroup.create", {
      name: `Runwarden e2e ${run}`,
    });
    made.groupIds.push(groupids[0]!);
    const { hostids } = await z.call<{ hostids: string[] }>("host.create", {
      host,
      groups: [{ groupid: groupids[0] }],
    });
    made.hostIds.push(hostids[0]!);
    await z.call("item.create", {
      hostid: hostids[0],
      name: "Widgets",
      key_: "widgets",
      type: 2,
      value_type: 3,
    });
    const { triggerids } = await z.call<{ triggerids: string[] }>("trigger.create", {
      description: title,
      expression: `last(/${host}/widgets)>10`,
      priority: 5,
      manual_close: 1,
      tags: [
        { tag: "service", value: "widgets" },
        { tag: "runwarden_run", value: run },
      ],
    });
    const mediaName = `Runwarden e2e ${run}`;
    await z.call("configuration.import", {
      format: "yaml",
      rules: { mediaTypes: { createMissing: true, updateExisting: false } },
      source: mediaTypeYaml({ url: `${server.url}/api/v1/tickets/webhook/zabbix` }).replace(
        "name: Runwarden\n",
        `name: ${mediaName}\n`,
      ),
    });
    const [media] = await z.call<{ mediatypeid: string; parameters: { name: string; value: string }[] }[]>(
      "mediatype.get",
      { filter: { name: mediaName }, output: "extend" },
    );
    made.mediaIds.push(media!.mediatypeid);
    await z.call("mediatype.update", {
      mediatypeid: media!.mediatypeid,
      parameters: media!.parameters.map((p) => (p.name === "Secret" ? { ...p, value: secret } : p)),
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
      username: `runwarden-e2e-${run}`,
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
      name: `Runwarden e2e ${run}`,
      eventsource: 0,
      status: 0,
      esc_period: "1h",
      filter: { evaltype: 0, conditions: [{ conditiontype: 1, operator: 0, value: hostids[0] }] },
      operations: [
        {
          operationtype: 0,
          opmessage: { default_msg: 1, mediatypeid: media!.mediatypeid },
          opmessage_usr: [{ userid: userids[0] }],
        },
      ],
      recovery_operations: [{ operationtype: 11, opmessage: { default_msg: 1 } }],
    });
    made.actionIds.push(actionids[0]!);
    await new Promise((resolve) => setTimeout(resolve, 4_000));

    interface Problem {
      eventid: string;
      r_eventid: string;
      acknowledges: { action: string; message: string }[];
    }
    const problems = () =>
      z.call<Problem[]>("problem.get", {
        objectids: triggerids,
        recent: true,
        output: ["eventid", "r_eventid"],
        selectAcknowledges: ["action", "message"],
      });
    const [problem] = await fire(host, "widgets", "99", problems, (rows) => rows.length === 1, "problem");

    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${server!.url}/api/v1${path}`, {
        headers: { authorization: `Bearer ${server!.adminToken}` },
      });
      expect(res.status, path).toBe(200);
      return (await res.json()) as T;
    };
    interface TicketWire {
      id: number;
      status: string;
      external_id: string;
      title: string;
      severity: string;
    }
    const [ticket] = await until(
      async () => (await api<{ items: TicketWire[] }>("/tickets?source=zabbix")).items,
      (items) => items.some((t) => t.status === "resolved"),
      60_000,
      "the ticket resolved by the runbook",
    );
    expect(ticket).toMatchObject({ title, external_id: problem!.eventid, severity: "critical" });
    const sessions = await api<{ items: { id: number; status: string }[] }>(
      `/executions?ticket_id=${ticket!.id}`,
    );
    expect(sessions.items.map((s) => s.status)).toEqual(["succeeded"]);

    // Zabbix's own view: acknowledged with a message naming the session, then closed.
    const [closed] = await until(problems, (rows) => rows[0]?.r_eventid !== "0", 60_000, "closed problem");
    expect(closed!.acknowledges.map((a) => a.message)).toEqual(
      expect.arrayContaining([
        `Runwarden: remediation session ${sessions.items[0]!.id} started for Runwarden ticket #${ticket!.id} (${title}).`,
        expect.stringMatching(
          new RegExp(
            `^Runwarden: Runwarden ticket #${ticket!.id} resolved by remediation session ${sessions.items[0]!.id}\\.`,
          ),
        ),
        `Runwarden: Runwarden session ${sessions.items[0]!.id} succeeded.`,
      ]),
    );
    // And the media type delivered both its calls to the server (alert status 1 = sent).
    const alerts = await until(
      () =>
        z.call<{ status: string; error: string }[]>("alert.get", {
          actionids,
          output: ["status", "error"],
        }),
      (rows) => rows.length >= 2 && rows.every((a) => a.status !== "0" && a.status !== "3"),
      60_000,
      "the media type's problem and recovery calls",
    );
    expect(alerts.map((a) => [a.status, a.error])).toEqual([
      ["1", ""],
      ["1", ""],
    ]);
  });
});
