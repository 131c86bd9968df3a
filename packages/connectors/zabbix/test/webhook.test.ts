import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { testMonitoringWebhooks } from "@runwarden/connector-testkit";
import { isRunwardenError, TicketInput } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import zabbix, { mediaTypeMacros, mediaTypeScript, mediaTypeYaml, zabbixVendorSetup } from "../src/index.js";
import { verifyZabbixRequest } from "../src/webhook.js";
import { fixture, testContext, webhookRequest } from "./support.js";

const SECRET = "zbx-webhook-shared-secret-42";
const auth = { authorization: `Bearer ${SECRET}` };
/** The shared fixture: the media type's parameters for a firing problem (invented values). */
const sample = fixture<Record<string, string>>("zabbix-webhook.json");
const recovery = {
  ...sample,
  "EVENT.STATUS": "RESOLVED",
  "EVENT.VALUE": "0",
  "EVENT.RECOVERY.ID": "20433",
  "ALERT.SUBJECT": "Resolved: High CPU utilization (over 90% for 5m)",
};

/** What the shipped media type sent from a real Zabbix 6.0.14 (captured by zabbix.int.test.ts). */
const realProblem = fixture<Record<string, string>>("zabbix-6.0-media-type-problem.json");
const realRecovery = fixture<Record<string, string>>("zabbix-6.0-media-type-recovery.json");
const realUpdate = fixture<Record<string, string>>("zabbix-6.0-media-type-update.json");

async function parse(body: unknown, config: Record<string, unknown> = {}) {
  const instance = await zabbix.create(
    zabbix.configSchema.parse({ webhookAuth: { type: "bearer", secret: SECRET }, ...config }),
    testContext(),
  );
  return instance.parseWebhook!(webhookRequest(body, auth));
}

describe("zabbix webhook", () => {
  it("turns the media type's problem call into a ticket keyed by the problem event", async () => {
    const { tickets, warnings } = await parse(sample);
    expect(warnings).toEqual([]);
    expect(tickets).toHaveLength(1);
    const ticket = TicketInput.parse(tickets[0]);
    expect(ticket).toMatchObject({
      title: "High CPU utilization (over 90% for 5m)",
      severity: "high",
      source: "zabbix",
      externalId: "20427",
      fingerprint: "20427",
      resolved: false,
      service: "cpu",
      metaData: {
        eventId: "20427",
        triggerId: "23396",
        host: "web-01",
        ip: "10.0.0.15",
        component: "cpu",
        tags: [
          { tag: "class", value: "os" },
          { tag: "component", value: "cpu" },
        ],
        link: "https://zabbix.example.com/tr_events.php?triggerid=23396&eventid=20427",
        via: "webhook",
      },
    });
    expect(ticket.description).toContain("Host: web-01");
    expect(ticket.description).toContain("Problem started at 09:12:30 on 2025.05.14");
  });

  it("resolves the same ticket on the recovery call, which carries the problem's EVENT.ID", async () => {
    const { tickets } = await parse(recovery);
    expect(tickets[0]).toMatchObject({ externalId: "20427", fingerprint: "20427", resolved: true });
    expect(tickets[0]!.metaData).toMatchObject({ recoveryEventId: "20433" });
  });

  it("reads what a real Zabbix 6.0 sent through the media type: the problem, an update, the recovery", async () => {
    const problem = await parse(realProblem);
    const recovered = await parse(realRecovery);
    expect(problem.warnings).toEqual([]);
    expect(problem.tickets[0]).toMatchObject({
      externalId: realProblem["EVENT.ID"],
      severity: "high",
      service: "checkout",
      environment: "it",
      resolved: false,
      metaData: { opdata: "700", update: null, link: null },
    });
    // "*UNKNOWN*" (a host without interfaces) and unresolved macros are absent.
    expect(problem.tickets[0]!.metaData).not.toHaveProperty("ip");
    expect(problem.tickets[0]!.metaData).toMatchObject({ recoveryEventId: null });
    expect(recovered.tickets[0]).toMatchObject({ externalId: realProblem["EVENT.ID"], resolved: true });
    expect(recovered.tickets[0]!.metaData).toMatchObject({
      recoveryEventId: realRecovery["EVENT.RECOVERY.ID"],
    });
    // The update Zabbix sent after Runwarden acknowledged the problem: no ticket.
    expect((await parse(realUpdate)).tickets).toEqual([]);
  });

  it("ignores an update notification unless it closed the problem, which resolves the ticket", async () => {
    const update = { ...sample, "EVENT.UPDATE.STATUS": "1", "EVENT.ACK.STATUS": "Yes" };
    const acknowledged = await parse({ ...update, "EVENT.UPDATE.ACTION": "acknowledged, commented" });
    expect(acknowledged.tickets).toEqual([]);
    expect(acknowledged.warnings.join(" ")).toContain("acknowledged, commented");
    const closed = await parse({ ...update, "EVENT.UPDATE.ACTION": "commented and closed" });
    expect(closed.tickets[0]).toMatchObject({
      externalId: "20427",
      resolved: true,
      metaData: { update: "commented and closed" },
    });
  });

  it("treats unresolved macros as absent and reads the severity by name when the number is missing", async () => {
    const { tickets } = await parse({
      "EVENT.ID": "77",
      "EVENT.NAME": "Disk full",
      "EVENT.NSEVERITY": "{EVENT.NSEVERITY}",
      "EVENT.SEVERITY": "Disaster",
      "EVENT.VALUE": "1",
      "EVENT.TAGSJSON": "{EVENT.TAGSJSON}",
      "HOST.IP": "{HOST.IP}",
      "ZABBIX.URL": "{$ZABBIX.URL}",
    });
    expect(tickets[0]).toMatchObject({ severity: "critical", title: "Disk full" });
    expect(tickets[0]!.metaData).not.toHaveProperty("ip");
    expect(tickets[0]!.metaData).toMatchObject({ link: null, tags: [] });
  });

  it("maps tags to environment and service with the configured tag names", async () => {
    const { tickets } = await parse(
      {
        ...sample,
        "EVENT.TAGSJSON": JSON.stringify([
          { tag: "deployment", value: "prod-eu" },
          { tag: "svc", value: "payments" },
        ]),
      },
      { mapping: { environment: ["deployment"], service: ["svc"] } },
    );
    expect(tickets[0]).toMatchObject({ environment: "prod-eu", service: "payments" });
  });

  it("warns and goes on when EVENT.TAGSJSON is not a list of tags", async () => {
    const { tickets, warnings } = await parse({ ...sample, "EVENT.TAGSJSON": "not json" });
    expect(tickets).toHaveLength(1);
    expect(warnings.join(" ")).toContain("EVENT.TAGSJSON");
  });

  it("refuses a payload without a numeric EVENT.ID with an input code", async () => {
    for (const body of [
      {},
      { ...sample, "EVENT.ID": "{EVENT.ID}" },
      { ...sample, "EVENT.ID": 5 },
      [sample],
    ]) {
      const error = await parse(body).catch((e: unknown) => e);
      expect(isRunwardenError(error) && error.code).toBe("RW_ERR_INPUT_INVALID");
    }
  });

  it("verifies the Bearer secret in constant time and refuses anything else", () => {
    const bearer = { type: "bearer" as const, secret: SECRET };
    expect(verifyZabbixRequest(bearer, webhookRequest(sample, auth))).toBe(true);
    expect(verifyZabbixRequest(bearer, webhookRequest(sample, { Authorization: `bearer ${SECRET}` }))).toBe(
      true,
    );
    expect(verifyZabbixRequest(bearer, webhookRequest(sample, { authorization: `Bearer ${SECRET}x` }))).toBe(
      false,
    );
    expect(verifyZabbixRequest(bearer, webhookRequest(sample, { authorization: SECRET }))).toBe(false);
    expect(verifyZabbixRequest(bearer, webhookRequest(sample))).toBe(false);
    expect(verifyZabbixRequest({ type: "none" }, webhookRequest(sample))).toBe(true);
  });
});

describe("media type", () => {
  it("ships the export the package generates, byte for byte", () => {
    const shipped = readFileSync(
      join(import.meta.dirname, "..", "media", "runwarden-media-type.yaml"),
      "utf8",
    );
    expect(shipped).toBe(mediaTypeYaml());
  });

  it("exports a 6.0 webhook media type whose parameters are the macros the receiver reads", () => {
    const doc = parseYaml(mediaTypeYaml({ url: "https://rw.example/api/v1/tickets/webhook/zabbix" })) as {
      zabbix_export: { version: string; media_types: Record<string, unknown>[] };
    };
    expect(doc.zabbix_export.version).toBe("6.0");
    const [media] = doc.zabbix_export.media_types;
    expect(media).toMatchObject({ name: "Runwarden", type: "WEBHOOK", script: mediaTypeScript });
    const parameters = media!.parameters as { name: string; value: string }[];
    expect(parameters.find((p) => p.name === "URL")!.value).toBe(
      "https://rw.example/api/v1/tickets/webhook/zabbix",
    );
    expect(parameters.find((p) => p.name === "Secret")!.value).toMatch(/^</);
    for (const macro of mediaTypeMacros) {
      expect(parameters).toContainEqual({ name: macro, value: `{${macro}}` });
    }
  });

  /** Runs the media type's JavaScript as Zabbix would, with a recording HttpRequest. */
  function runScript(params: Record<string, string>, status = 202) {
    const sent: { url: string; body: string; headers: string[] }[] = [];
    class HttpRequest {
      headers: string[] = [];
      proxy: string | undefined;
      addHeader(h: string) {
        this.headers.push(h);
      }
      setProxy(p: string) {
        this.proxy = p;
      }
      post(url: string, body: string) {
        sent.push({ url, body, headers: this.headers });
        return "{}";
      }
      getStatus() {
        return status;
      }
    }
    const result = runInNewContext(`(function (value) {\n${mediaTypeScript}\n})(input)`, {
      input: JSON.stringify(params),
      HttpRequest,
      Zabbix: { log: () => {} },
    }) as unknown;
    return { result, sent };
  }

  it("posts every macro but the URL and Secret as JSON with the secret as a Bearer token", () => {
    const { result, sent } = runScript({
      URL: "https://rw.example/hook",
      Secret: SECRET,
      HTTPProxy: "",
      ...sample,
    });
    expect(result).toBe("OK");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe("https://rw.example/hook");
    expect(sent[0]!.headers).toEqual(["Content-Type: application/json", `Authorization: Bearer ${SECRET}`]);
    const body = JSON.parse(sent[0]!.body) as Record<string, string>;
    expect(body).toEqual(sample);
  });

  it("fails the alert (so Zabbix retries) on a non-2xx answer, and refuses placeholder settings", () => {
    expect(() => runScript({ URL: "https://rw.example/hook", Secret: SECRET, ...sample }, 503)).toThrow(
      /HTTP 503/,
    );
    expect(() => runScript({ URL: "<the webhook URL of your Runwarden server>", Secret: SECRET })).toThrow(
      /URL/,
    );
    expect(() => runScript({ URL: "https://rw.example/hook", Secret: "<the shared secret>" })).toThrow(
      /Secret/,
    );
  });

  it("describes the vendor-side set-up with the server's webhook URL and no secret", () => {
    const steps = zabbixVendorSetup({ webhookUrl: "https://rw.example/api/v1/tickets/webhook/zabbix" });
    expect(steps.map((s) => s.title)).toEqual([
      "Import the Runwarden media type",
      "Set its URL and Secret parameters",
      "Give a user the media",
      "Send problems and recoveries to it with an action",
      "Let Runwarden acknowledge and close problems (optional)",
    ]);
    expect(steps[0]!.snippet).toMatchObject({ language: "yaml" });
    expect(steps[0]!.snippet!.content).toContain("https://rw.example/api/v1/tickets/webhook/zabbix");
    expect(zabbix.vendorSetup).toBe(zabbixVendorSetup);
  });
});

testMonitoringWebhooks(zabbix, {
  config: { webhookAuth: { type: "bearer", secret: SECRET } },
  authHeaders: auth,
  samples: [
    webhookRequest(sample, auth),
    webhookRequest(recovery, auth),
    webhookRequest(realProblem, auth),
    webhookRequest(realRecovery, auth),
  ],
});
