/**
 * A fake OpManager REST API (alarms) on the testkit's fake server, with state. Every call needs the
 * REST API key in the `apiKey` header; the deprecated query-parameter form is refused, as are
 * parameters the alarm APIs do not document and missing required ones. The answers follow the
 * documented samples: listAlarms an array of alarms, the actions `{ result: { message } }`; a
 * refusal is a 4xx with `{ error: { code, message } }` (that error shape is a guess).
 */
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  fakeServer,
} from "@runwarden/connector-testkit";

export interface FakeAlarm {
  alarmId: string;
  entity: string;
  displayName: string;
  deviceName: string;
  message: string;
  category: string;
  numericSeverity: number;
  severityString: string;
  statusStr: string;
  statusNum: number;
  status: number;
  severity: string;
  modTime: string;
  modTimeLong: number;
  who: string;
  notes: string[];
}

const names: Record<number, string> = {
  1: "Critical",
  2: "Trouble",
  3: "Attention",
  4: "Service Down",
  5: "Clear",
};

/** Documented parameters per API (manageengine.com OpManager REST API, alarms). */
const documented: Record<string, { allowed: string[]; required: string[] }> = {
  listAlarms: {
    allowed: [
      "deviceName",
      "severity",
      "category",
      "period",
      "entity",
      "alarmCode",
      "eventType",
      "alertType",
      "fromTime",
      "toTime",
      "probeName",
    ],
    required: [],
  },
  acknowledgeAlarm: { allowed: ["entity", "type"], required: ["entity"] },
  unAcknowledgeAlarm: { allowed: ["entity", "type"], required: ["entity"] },
  clearAlarm: { allowed: ["entity", "type"], required: ["entity"] },
  addNotes: { allowed: ["entity", "notes", "type"], required: ["entity", "notes"] },
};

export interface FakeOpManager {
  readonly server: FakeServer;
  readonly url: string;
  readonly alarms: FakeAlarm[];
  /** Accepted action calls, in order: `acknowledgeAlarm 5_DiskUtilization`. */
  readonly actions: string[];
  addAlarm(alarm: {
    entity: string;
    severity: number;
    device?: string;
    message?: string;
    category?: string;
  }): FakeAlarm;
  /** listAlarms ignores its `entity` parameter, as servers following the newer API page may. */
  ignoreEntityFilter: boolean;
  /** The next call of this API answers 500. */
  failNext(api: string): void;
  close(): Promise<void>;
}

export async function fakeOpManager(apiKey: string): Promise<FakeOpManager> {
  const alarms: FakeAlarm[] = [];
  const actions: string[] = [];
  const failing = new Set<string>();
  let nextId = 1;
  let ignoreEntityFilter = false;
  const refuse = (status: number, message: string): FakeResponse => ({
    status,
    body: { error: { code: status * 10, message } },
  });

  function guard(
    api: string,
    method: string,
    handler: (req: FakeRequest) => FakeResponse,
  ): (req: FakeRequest) => FakeResponse {
    return (req) => {
      if (req.method !== method) return refuse(405, `${api} takes ${method}`);
      if (req.query.has("apiKey") || req.query.has("apikey")) {
        return refuse(400, "apiKey as a request parameter is deprecated for this URL: send it in the header");
      }
      if (req.headers.apikey !== apiKey) return refuse(401, "Invalid API key");
      const spec = documented[api]!;
      for (const key of req.query.keys())
        if (!spec.allowed.includes(key)) return refuse(400, `unknown parameter ${key}`);
      for (const key of spec.required) if (!req.query.get(key)) return refuse(400, `${key} is required`);
      const type = req.query.get("type");
      if (type !== null && type !== "single" && type !== "multiple")
        return refuse(400, "type is single or multiple");
      if (failing.delete(api)) return refuse(500, "internal error");
      return handler(req);
    };
  }

  const find = (req: FakeRequest) => alarms.find((a) => a.entity === req.query.get("entity"));
  const done = (message: string): FakeResponse => ({ body: { result: { message } } });

  const server = await fakeServer({
    "GET /api/json/alarm/listAlarms": guard("listAlarms", "GET", (req) => {
      const q = req.query;
      const list = alarms.filter(
        (a) =>
          (ignoreEntityFilter || !q.get("entity") || a.entity === q.get("entity")) &&
          (!q.get("severity") || String(a.numericSeverity) === q.get("severity")) &&
          (!q.get("category") || a.category === q.get("category")) &&
          (q.get("alertType") !== "ActiveAlarms" || a.numericSeverity !== 5),
      );
      return { body: list.map(({ notes: _notes, ...alarm }) => alarm) };
    }),
    "POST /api/json/alarm/acknowledgeAlarm": guard("acknowledgeAlarm", "POST", (req) => {
      const alarm = find(req);
      if (!alarm) return refuse(404, "No alarm found for the entity");
      alarm.who = "admin";
      actions.push(`acknowledgeAlarm ${alarm.entity}`);
      return done("Alarm has been successfully Acknowledged");
    }),
    "POST /api/json/alarm/unAcknowledgeAlarm": guard("unAcknowledgeAlarm", "POST", (req) => {
      const alarm = find(req);
      if (!alarm) return refuse(404, "No alarm found for the entity");
      alarm.who = "Unacknowledged";
      actions.push(`unAcknowledgeAlarm ${alarm.entity}`);
      return done("Alarm has been successfully UnAcknowledged");
    }),
    "POST /api/json/alarm/clearAlarm": guard("clearAlarm", "POST", (req) => {
      const alarm = find(req);
      if (!alarm) return refuse(404, "No alarm found for the entity");
      Object.assign(alarm, {
        numericSeverity: 5,
        severityString: "Clear",
        statusStr: "Clear",
        statusNum: 5,
        status: 5,
      });
      actions.push(`clearAlarm ${alarm.entity}`);
      return done("Alarm has been successfully Cleared");
    }),
    "POST /api/json/alarm/addNotes": guard("addNotes", "POST", (req) => {
      const alarm = find(req);
      if (!alarm) return refuse(404, "No alarm found for the entity");
      alarm.notes.push(req.query.get("notes")!);
      actions.push(`addNotes ${alarm.entity}`);
      return done("Notes added successfully");
    }),
  });

  return {
    server,
    url: server.url,
    alarms,
    actions,
    addAlarm(a) {
      const name = names[a.severity]!;
      const alarm: FakeAlarm = {
        alarmId: String(nextId++),
        entity: a.entity,
        displayName: a.device ?? "web-01",
        deviceName: `${a.device ?? "web-01"}.example.com`,
        message: a.message ?? "Disk Utilization is 97%, threshold value for this monitor is 90%",
        category: a.category ?? "Server",
        numericSeverity: a.severity,
        severityString: name,
        statusStr: name,
        statusNum: a.severity,
        status: a.severity,
        severity: `<img src='/images/devices/status${a.severity}.gif'>&nbsp;${name}`,
        modTime: "14 May 2025 09:12:30 AM UTC",
        modTimeLong: 1715677950000,
        who: "Unacknowledged",
        notes: [],
      };
      alarms.push(alarm);
      return alarm;
    },
    get ignoreEntityFilter() {
      return ignoreEntityFilter;
    },
    set ignoreEntityFilter(value) {
      ignoreEntityFilter = value;
    },
    failNext(api) {
      failing.add(api);
    },
    close: () => server.close(),
  };
}
