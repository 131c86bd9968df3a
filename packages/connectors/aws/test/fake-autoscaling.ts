/**
 * A fake of the Auto Scaling instance-refresh API in test code (moto 5.2.1's autoscaling has no
 * StartInstanceRefresh / DescribeInstanceRefreshes / CancelInstanceRefresh): the AWS Query
 * protocol (form-encoded `Action`/`Version`, XML answers and `ErrorResponse`), SigV4 scope
 * `autoscaling` required, every request decoded and validated against botocore's
 * `autoscaling/2011-01-01/service-2.json` input shape (members, required, types, enums, ranges)
 * and every answer against its output shape before it is written as XML. A refresh goes
 * Pending → InProgress → its group's outcome after `describesBeforeDone` reads.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { validateShape } from "./fake-ssm.js";

interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
}
interface Model {
  metadata: { xmlNamespace: string; apiVersion: string };
  operations: Record<string, { input: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

function loadModel(): Model {
  const dir = execFileSync(
    "python3",
    ["-c", "import botocore,os;print(os.path.dirname(botocore.__file__))"],
    {
      encoding: "utf8",
    },
  ).trim();
  const base = join(dir, "data", "autoscaling", "2011-01-01", "service-2.json");
  let text: string;
  try {
    text = readFileSync(base, "utf8");
  } catch {
    text = gunzipSync(readFileSync(`${base}.gz`)).toString("utf8");
  }
  return JSON.parse(text) as Model;
}

/** Decodes Query-protocol parameters into the shape's value, recording the keys it used. */
function decode(
  model: Model,
  shapeName: string,
  params: URLSearchParams,
  prefix: string,
  used: Set<string>,
): unknown {
  const shape = model.shapes[shapeName]!;
  switch (shape.type) {
    case "structure": {
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const key = `${prefix}${name}`;
        const child = model.shapes[member.shape]!;
        if (child.type === "structure" || child.type === "list") {
          const nested = [...params.keys()].some((k) => k.startsWith(`${key}.`));
          if (nested) out[name] = decode(model, member.shape, params, `${key}.`, used);
          else if (child.type === "list" && params.get(key) === "") {
            used.add(key);
            out[name] = [];
          }
        } else if (params.has(key)) out[name] = decode(model, member.shape, params, key, used);
      }
      return out;
    }
    case "list": {
      const items: unknown[] = [];
      for (let i = 1; ; i++) {
        const key = `${prefix}member.${i}`;
        const child = model.shapes[shape.member!.shape]!;
        const present =
          child.type === "structure"
            ? [...params.keys()].some((k) => k.startsWith(`${key}.`))
            : params.has(key);
        if (!present) break;
        items.push(
          decode(model, shape.member!.shape, params, child.type === "structure" ? `${key}.` : key, used),
        );
      }
      return items;
    }
    default: {
      used.add(prefix);
      const raw = params.get(prefix)!;
      if (shape.type === "integer" || shape.type === "long") return /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (shape.type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
      return raw;
    }
  }
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Writes a value of a shape as Query-protocol XML (timestamps are epoch seconds in, ISO 8601 out). */
function xml(model: Model, shapeName: string, value: unknown): string {
  const shape = model.shapes[shapeName]!;
  if (shape.type === "structure")
    return Object.entries(value as Record<string, unknown>)
      .map(([name, v]) => `<${name}>${xml(model, shape.members![name]!.shape, v)}</${name}>`)
      .join("");
  if (shape.type === "list")
    return (value as unknown[]).map((v) => `<member>${xml(model, shape.member!.shape, v)}</member>`).join("");
  if (shape.type === "timestamp") return new Date((value as number) * 1000).toISOString();
  return escapeXml(String(value));
}

export interface FakeRefresh {
  InstanceRefreshId: string;
  AutoScalingGroupName: string;
  Status: string;
  StatusReason?: string;
  StartTime: number;
  EndTime?: number;
  PercentageComplete: number;
  InstancesToUpdate: number;
  Preferences?: Record<string, unknown>;
  reads: number;
}

export interface FakeAutoScalingOptions {
  accessKeys: readonly string[];
  /** Groups and how their refreshes end. */
  groups: Record<string, "Successful" | "Failed">;
}

export interface FakeAutoScaling {
  endpoint: string;
  requests: { action: string; input: Record<string, unknown> }[];
  /** Requests or answers that did not conform to botocore's model (a test asserts none). */
  violations: string[];
  refreshes: FakeRefresh[];
  /** DescribeInstanceRefreshes reads before a refresh ends; Infinity keeps it running. */
  describesBeforeDone: number;
  close(): Promise<void>;
}

/** Starts the fake on a free loopback port. */
export async function startFakeAutoScaling(options: FakeAutoScalingOptions): Promise<FakeAutoScaling> {
  const model = loadModel();
  const ns = model.metadata.xmlNamespace;
  const fake: FakeAutoScaling = {
    endpoint: "",
    requests: [],
    violations: [],
    refreshes: [],
    describesBeforeDone: 2,
    close: async () => {},
  };

  function answer(res: ServerResponse, action: string, result: Record<string, unknown>) {
    const output = model.operations[action]!.output!.shape;
    for (const p of validateShape(model as never, output, result))
      fake.violations.push(`response ${action}: ${p}`);
    const body = `<?xml version="1.0"?>\n<${action}Response xmlns="${ns}"><${action}Result>${xml(model, output, result)}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
    res.writeHead(200, { "content-type": "text/xml", "x-amzn-requestid": randomUUID() });
    res.end(body);
  }
  function fail(res: ServerResponse, status: number, code: string, message: string) {
    res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": randomUUID() });
    res.end(
      `<?xml version="1.0"?>\n<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  }
  const active = (group: string) =>
    fake.refreshes.find(
      (r) => r.AutoScalingGroupName === group && ["Pending", "InProgress", "Cancelling"].includes(r.Status),
    );
  const view = (r: FakeRefresh) => {
    const { reads: _reads, ...rest } = r;
    return rest;
  };

  const handlers: Record<string, (input: Record<string, unknown>, res: ServerResponse) => void> = {
    StartInstanceRefresh(input, res) {
      const group = String(input.AutoScalingGroupName);
      if (!(group in options.groups))
        return fail(res, 400, "ValidationError", `AutoScalingGroup name not found - ${group}`);
      if (active(group))
        return fail(
          res,
          400,
          "InstanceRefreshInProgress",
          `An Instance Refresh is already in progress for ${group}.`,
        );
      const refresh: FakeRefresh = {
        InstanceRefreshId: randomUUID(),
        AutoScalingGroupName: group,
        Status: "Pending",
        StartTime: Math.floor(Date.now() / 1000),
        PercentageComplete: 0,
        InstancesToUpdate: 2,
        ...(input.Preferences ? { Preferences: input.Preferences as Record<string, unknown> } : {}),
        reads: 0,
      };
      fake.refreshes.push(refresh);
      answer(res, "StartInstanceRefresh", { InstanceRefreshId: refresh.InstanceRefreshId });
    },
    DescribeInstanceRefreshes(input, res) {
      const ids = input.InstanceRefreshIds as string[] | undefined;
      const list = fake.refreshes.filter(
        (r) =>
          r.AutoScalingGroupName === input.AutoScalingGroupName &&
          (!ids || ids.includes(r.InstanceRefreshId)),
      );
      for (const r of list) {
        r.reads++;
        if (r.Status === "Cancelling")
          Object.assign(r, { Status: "Cancelled", EndTime: Math.floor(Date.now() / 1000) });
        else if (r.Status === "Pending" || r.Status === "InProgress") {
          if (r.reads >= fake.describesBeforeDone) {
            const outcome = options.groups[r.AutoScalingGroupName]!;
            Object.assign(r, {
              Status: outcome,
              EndTime: Math.floor(Date.now() / 1000),
              InstancesToUpdate: 0,
              ...(outcome === "Successful"
                ? { PercentageComplete: 100 }
                : { StatusReason: "Instances failed to launch: the launch template's AMI does not exist" }),
            });
          } else Object.assign(r, { Status: "InProgress", PercentageComplete: 50, InstancesToUpdate: 1 });
        }
      }
      answer(res, "DescribeInstanceRefreshes", { InstanceRefreshes: list.map(view) });
    },
    CancelInstanceRefresh(input, res) {
      const refresh = active(String(input.AutoScalingGroupName));
      if (!refresh)
        return fail(
          res,
          400,
          "ActiveInstanceRefreshNotFound",
          "No in-progress or pending Instance Refresh found.",
        );
      refresh.Status = "Cancelling";
      answer(res, "CancelInstanceRefresh", { InstanceRefreshId: refresh.InstanceRefreshId });
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const auth = String(req.headers.authorization ?? "");
      const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
      if (!scope?.[1] || scope[3] !== "autoscaling")
        return fail(
          res,
          400,
          "IncompleteSignature",
          "a SigV4 Authorization header scoped to autoscaling is required",
        );
      if (!options.accessKeys.includes(scope[1]!))
        return fail(
          res,
          403,
          "InvalidClientTokenId",
          "The security token included in the request is invalid.",
        );
      if (
        req.method !== "POST" ||
        !String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")
      )
        return fail(res, 400, "MalformedQueryString", "a form-encoded POST is expected");
      const params = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const action = params.get("Action") ?? "";
      if (params.get("Version") !== model.metadata.apiVersion || !handlers[action])
        return fail(res, 400, "InvalidAction", `unsupported action ${action}`);
      const used = new Set(["Action", "Version"]);
      const input = decode(model, model.operations[action]!.input.shape, params, "", used) as Record<
        string,
        unknown
      >;
      const problems = [
        ...[...params.keys()].filter((k) => !used.has(k)).map((k) => `${k}: not a member of the input`),
        ...validateShape(model as never, model.operations[action]!.input.shape, input),
      ];
      fake.requests.push({ action, input });
      if (problems.length > 0) {
        fake.violations.push(...problems.map((p) => `request ${action}: ${p}`));
        return fail(res, 400, "ValidationError", problems.join("; "));
      }
      handlers[action]!(input, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
