/**
 * The monitoring poller with the SolarWinds and OpManager connectors, each against its vendor fake
 * (a SWIS that parses SWQL and checks verb arguments; an OpManager that enforces the apiKey header
 * and the documented parameters): an engine pulls the alert, runs the matching runbook to success,
 * and delivers the acknowledge, the session's outcome as a work note and the resolve through its
 * outbox. The fakes end up with exactly Acknowledge, AppendNote (the outcome), AppendNote and
 * ClearAlert for the alert object, and addNotes, acknowledgeAlarm, addNotes (the outcome), addNotes
 * and clearAlarm for the alarm entity; a second flush delivers nothing more.
 */
import { createEngine, type Engine } from "@runwarden/core";
import { afterEach, describe, expect, it } from "vitest";
import opmanager from "../../packages/connectors/opmanager/src/index.js";
import {
  type FakeOpManager,
  fakeOpManager,
} from "../../packages/connectors/opmanager/test/fake-opmanager.js";
import solarwinds from "../../packages/connectors/solarwinds/src/index.js";
import { type FakeSwis, fakeSwis } from "../../packages/connectors/solarwinds/test/fake-swis.js";

const USER = "runwarden-svc";
const PASSWORD = "orion-password-0123456789";
const API_KEY = "opm-rest-api-key-0123456789abcdef";

const runbook = (keyword: string) => `---
match:
  keywords: [${keyword}]
auto_execute: true
connection: local
---
# Fix ${keyword}

## Main Steps
- \`echo fixing\` (name: fix, severity: safe)
`;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function engineWith(
  registration: Parameters<typeof createEngine>[0],
  source: string,
  keyword: string,
): Promise<Engine> {
  const engine = await createEngine(registration);
  cleanup.push(() => engine.close());
  await engine.runbooks.create(runbook(keyword), {
    actor: { id: "author", roles: ["admin"] },
    status: "approved",
  });
  await engine.start();
  const poller = engine.monitoring.poller(source)!;
  await until(
    async () => (await poller.poll({ force: true })).alerts,
    (alerts) => alerts >= 1,
  );
  const [ticket] = (await engine.tickets.list({ source })).items;
  await until(
    () => engine.tickets.get(ticket!.id),
    (t) => t.status === "resolved",
  );
  await poller.settled();
  await until(
    async () => {
      await poller.flush();
      return poller.status();
    },
    (s) => s.pendingActions === 0,
  );
  return engine;
}

describe("monitoring poller → vendor fakes", () => {
  it("SolarWinds: pulls the alert, then acknowledges, notes and clears it once", async () => {
    const swis: FakeSwis = await fakeSwis({ username: USER, password: PASSWORD });
    cleanup.push(() => swis.close());
    swis.addAlert({
      alertActiveId: 5123,
      alertObjectId: 871,
      alertId: 17,
      name: "Disk full",
      severity: 2,
      nodeCaption: "web-01",
      message: "Volume / on web-01 is 98% full",
    });
    const engine = await engineWith(
      {
        vault: { key: Buffer.alloc(32, 7) },
        connectors: [
          {
            connector: solarwinds,
            config: { webhookAuth: { type: "none" }, url: swis.url, username: USER, password: PASSWORD },
          },
        ],
        monitoring: { solarwinds: { manual: true, idleMs: 50 } },
      },
      "solarwinds",
      "disk full",
    );
    expect(swis.invocations).toEqual([
      { verb: "Acknowledge", args: [[871], expect.stringContaining("Runwarden is remediating")] },
      {
        verb: "AppendNote",
        args: [[871], expect.stringMatching(/^Runwarden session \d+ succeeded\. \[runwarden:note:/)],
      },
      { verb: "AppendNote", args: [[871], expect.stringContaining("Runwarden resolved ticket")] },
      { verb: "ClearAlert", args: [[871]] },
    ]);
    expect(swis.tables["Orion.AlertActive"]).toEqual([]);
    expect(await engine.monitoring.poller("solarwinds")!.flush()).toBe(0);
  });

  it("OpManager: pulls the alarm, then notes, acknowledges and clears it once", async () => {
    const opm: FakeOpManager = await fakeOpManager(API_KEY);
    cleanup.push(() => opm.close());
    const alarm = opm.addAlarm({
      entity: "5_DiskUtilization",
      severity: 1,
      device: "web-01",
      message: "Disk Utilization is 97% on web-01",
    });
    const engine = await engineWith(
      {
        vault: { key: Buffer.alloc(32, 7) },
        connectors: [
          {
            connector: opmanager,
            config: { webhookAuth: { type: "none" }, url: opm.url, apiKey: API_KEY },
          },
        ],
        monitoring: { opmanager: { manual: true, idleMs: 50 } },
      },
      "opmanager",
      "disk utilization",
    );
    expect(opm.actions).toEqual([
      "addNotes 5_DiskUtilization",
      "acknowledgeAlarm 5_DiskUtilization",
      "addNotes 5_DiskUtilization",
      "addNotes 5_DiskUtilization",
      "clearAlarm 5_DiskUtilization",
    ]);
    expect(alarm.notes[1]).toMatch(/^Runwarden session \d+ succeeded\.$/);
    expect(alarm).toMatchObject({ severityString: "Clear", who: "admin" });
    expect(await engine.monitoring.poller("opmanager")!.flush()).toBe(0);
  });
});
