/**
 * A fake AWS Systems Manager endpoint for tests (moto 5.2.1's SSM runs nothing, answers Success
 * with empty output at once, and lacks CancelCommand and DescribeInstanceInformation). It speaks
 * SSM's JSON 1.1 protocol (`POST /`, `X-Amz-Target: AmazonSSM.<Operation>`,
 * `Content-Type: application/x-amz-json-1.1`, a SigV4 `Authorization` header scoped to the `ssm`
 * service), validates every request AND every response it sends against botocore's service model
 * (`ssm/2014-11-06/service-2.json`, from the preinstalled botocore), and really runs
 * AWS-RunShellScript commands under `sh`, with SSM's output limits (24,000 / 8,000 characters).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  enum?: string[];
  min?: number;
  max?: number;
  exception?: boolean;
}
interface Model {
  metadata: { targetPrefix: string; jsonVersion: string };
  operations: Record<
    string,
    { input: { shape: string }; output?: { shape: string }; errors?: { shape: string }[] }
  >;
  shapes: Record<string, Shape>;
}

/** botocore's SSM service model, from the pyenv Python's botocore. */
export function loadSsmModel(): Model {
  const dir = execFileSync(
    "python3",
    ["-c", "import botocore,os;print(os.path.dirname(botocore.__file__))"],
    {
      encoding: "utf8",
    },
  ).trim();
  const base = join(dir, "data", "ssm", "2014-11-06", "service-2.json");
  let text: string;
  try {
    text = readFileSync(base, "utf8");
  } catch {
    text = gunzipSync(readFileSync(`${base}.gz`)).toString("utf8");
  }
  return JSON.parse(text) as Model;
}

/** Checks `value` against a shape; returns the problems (empty when it conforms). */
export function validateShape(model: Model, shapeName: string, value: unknown, path = "$"): string[] {
  const shape = model.shapes[shapeName];
  if (!shape) return [`${path}: unknown shape ${shapeName}`];
  const problems: string[] = [];
  switch (shape.type) {
    case "structure": {
      if (value === null || typeof value !== "object" || Array.isArray(value))
        return [`${path}: expected an object (${shapeName})`];
      const record = value as Record<string, unknown>;
      for (const name of shape.required ?? [])
        if (record[name] === undefined) problems.push(`${path}.${name}: required by ${shapeName}`);
      for (const [name, member] of Object.entries(record)) {
        const spec = shape.members?.[name];
        if (!spec) problems.push(`${path}.${name}: not a member of ${shapeName}`);
        else if (member !== undefined)
          problems.push(...validateShape(model, spec.shape, member, `${path}.${name}`));
      }
      return problems;
    }
    case "list":
      if (!Array.isArray(value)) return [`${path}: expected a list (${shapeName})`];
      if (shape.min !== undefined && value.length < shape.min)
        problems.push(`${path}: fewer than ${shape.min} items`);
      if (shape.max !== undefined && value.length > shape.max)
        problems.push(`${path}: more than ${shape.max} items`);
      value.forEach((item, i) => {
        problems.push(...validateShape(model, shape.member!.shape, item, `${path}[${i}]`));
      });
      return problems;
    case "map":
      if (value === null || typeof value !== "object" || Array.isArray(value))
        return [`${path}: expected a map (${shapeName})`];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        problems.push(...validateShape(model, shape.key!.shape, k, `${path}{key}`));
        problems.push(...validateShape(model, shape.value!.shape, v, `${path}.${k}`));
      }
      return problems;
    case "string":
      if (typeof value !== "string") return [`${path}: expected a string (${shapeName})`];
      if (shape.enum && !shape.enum.includes(value))
        problems.push(`${path}: ${value} is not one of ${shape.enum.join("|")}`);
      if (shape.min !== undefined && value.length < shape.min)
        problems.push(`${path}: shorter than ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max)
        problems.push(`${path}: longer than ${shape.max}`);
      return problems;
    case "integer":
    case "long":
      if (typeof value !== "number" || !Number.isInteger(value))
        return [`${path}: expected an integer (${shapeName})`];
      if (shape.min !== undefined && value < shape.min) problems.push(`${path}: below ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) problems.push(`${path}: above ${shape.max}`);
      return problems;
    case "boolean":
      return typeof value === "boolean" ? [] : [`${path}: expected a boolean`];
    case "timestamp":
      // JSON 1.1 protocol: epoch seconds.
      return typeof value === "number" ? [] : [`${path}: expected epoch seconds (a number)`];
    default:
      return [];
  }
}

interface Invocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  comment: string;
  status: string;
  statusDetails: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  started: number;
  ended?: number;
  child?: ChildProcess;
  polled: number;
}

export interface FakeSsmOptions {
  /** Access key ids it accepts (anything else: UnrecognizedClientException). */
  accessKeys: readonly string[];
  /** Accept temporary keys (ASIA…), as an assumed role's. */
  acceptTemporaryKeys?: boolean;
  /** Managed instances and their agent's PingStatus. */
  instances: Record<string, "Online" | "ConnectionLost">;
  /** Instances that are Windows (default Linux): they take AWS-RunPowerShellScript only. */
  windows?: readonly string[];
  /**
   * Runs a Windows instance's PowerShell lines (a test's stand-in: no PowerShell on these
   * machines); without it a PowerShell command fails.
   */
  powershell?: (commands: string[]) => { stdout: string; stderr: string; failed?: boolean };
  /**
   * Gives each command the caller's session token as $CALLER_SESSION_TOKEN (a leak no real
   * instance has: it lets a test prove core redacts run-time secrets from step output).
   */
  exposeCallerSessionToken?: boolean;
  /** Access keys that are denied DescribeInstanceInformation (AccessDeniedException). */
  deniedDescribe?: readonly string[];
}

export interface FakeSsm {
  endpoint: string;
  /** Every request: its operation, body and the access key id that signed it. */
  requests: {
    operation: string;
    body: Record<string, unknown>;
    accessKeyId: string;
    /** The X-Amz-Security-Token a temporary key signed with. */
    sessionToken?: string;
  }[];
  /** Requests or responses that did not conform to the service model (a test asserts none). */
  violations: string[];
  invocations: Map<string, Invocation>;
  close(): Promise<void>;
}

const STDOUT_LIMIT = 24_000;
const STDERR_LIMIT = 8_000;

/** Starts the fake on a free loopback port. */
export async function startFakeSsm(options: FakeSsmOptions): Promise<FakeSsm> {
  const model = loadSsmModel();
  const requests: FakeSsm["requests"] = [];
  const violations: string[] = [];
  const invocations = new Map<string, Invocation>();
  const key = (commandId: string, instanceId: string) => `${commandId}/${instanceId}`;

  function send(res: ServerResponse, status: number, body: unknown, operation?: string): void {
    if (operation && status === 200) {
      const output = model.operations[operation]!.output!.shape;
      for (const p of validateShape(model, output, body)) violations.push(`response ${operation}: ${p}`);
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": randomUUID(),
    });
    res.end(text);
  }
  function fail(res: ServerResponse, status: number, type: string, message: string): void {
    send(res, status, { __type: type, message });
  }

  function start(inv: Invocation, commands: string[], timeoutSeconds: number, cwd: string | undefined): void {
    const sessionToken = requests.at(-1)?.sessionToken;
    const child = spawn("sh", ["-c", commands.join("\n")], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.exposeCallerSessionToken && sessionToken
        ? { env: { ...process.env, CALLER_SESSION_TOKEN: sessionToken } }
        : {}),
      ...(cwd ? { cwd } : {}),
      detached: true,
    });
    inv.child = child;
    inv.status = "InProgress";
    inv.statusDetails = "InProgress";
    child.stdout!.on("data", (c: Buffer) => {
      inv.stdout += c.toString();
    });
    child.stderr!.on("data", (c: Buffer) => {
      inv.stderr += c.toString();
    });
    const timer = setTimeout(() => {
      if (inv.status !== "InProgress") return;
      inv.status = "TimedOut";
      inv.statusDetails = "ExecutionTimedOut";
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, timeoutSeconds * 1000);
    child.on("close", (code) => {
      clearTimeout(timer);
      inv.ended = Date.now();
      inv.child = undefined;
      if (inv.status !== "InProgress") return;
      inv.responseCode = code ?? -1;
      inv.status = code === 0 ? "Success" : "Failed";
      inv.statusDetails = inv.status;
    });
  }

  const handlers: Record<string, (body: Record<string, unknown>, res: ServerResponse) => void> = {
    SendCommand(body, res) {
      const ids = (body.InstanceIds as string[] | undefined) ?? [];
      if (ids.length === 0) return fail(res, 400, "InvalidParameters", "InstanceIds or Targets is required");
      for (const id of ids)
        if (!(id in options.instances))
          return fail(res, 400, "InvalidInstanceId", `Instances [${id}] not in a valid state for account`);
      const windows = ids.map((id) => options.windows?.includes(id) ?? false);
      const document = windows[0] ? "AWS-RunPowerShellScript" : "AWS-RunShellScript";
      if (body.DocumentName !== document || windows.some((w) => w !== windows[0]))
        return fail(
          res,
          400,
          "UnsupportedPlatformType",
          `${String(body.DocumentName)} does not run on the ${windows[0] ? "Windows" : "Linux"} platform`,
        );
      const params = (body.Parameters ?? {}) as Record<string, string[]>;
      if (!params.commands?.length) return fail(res, 400, "InvalidParameters", "commands is required");
      const commandId = randomUUID();
      const timeoutSeconds = Number(params.executionTimeout?.[0] ?? 3600);
      for (const id of ids) {
        const inv: Invocation = {
          commandId,
          instanceId: id,
          documentName: String(body.DocumentName),
          comment: String(body.Comment ?? ""),
          status: "Pending",
          statusDetails: "Pending",
          responseCode: -1,
          stdout: "",
          stderr: "",
          started: Date.now(),
          polled: 0,
        };
        invocations.set(key(commandId, id), inv);
        if (options.instances[id] === "Online" && document === "AWS-RunPowerShellScript") {
          const ran = options.powershell?.(params.commands) ?? {
            stdout: "",
            stderr: "no PowerShell handler",
            failed: true,
          };
          Object.assign(inv, {
            stdout: ran.stdout,
            stderr: ran.stderr,
            ended: Date.now(),
            responseCode: ran.failed ? 1 : 0,
            status: ran.failed ? "Failed" : "Success",
            statusDetails: ran.failed ? "Failed" : "Success",
          });
        } else if (options.instances[id] === "Online")
          start(inv, params.commands, timeoutSeconds, params.workingDirectory?.[0]);
        else {
          inv.status = "Failed";
          inv.statusDetails = "Undeliverable";
        }
      }
      const now = Date.now() / 1000;
      send(
        res,
        200,
        {
          Command: {
            CommandId: commandId,
            DocumentName: body.DocumentName,
            Comment: body.Comment ?? "",
            ExpiresAfter: now + 3600,
            Parameters: params,
            InstanceIds: ids,
            Targets: [],
            RequestedDateTime: now,
            Status: "Pending",
            StatusDetails: "Pending",
            ...(body.OutputS3BucketName ? { OutputS3BucketName: body.OutputS3BucketName } : {}),
            MaxConcurrency: "50",
            MaxErrors: "0",
            TargetCount: ids.length,
            CompletedCount: 0,
            ErrorCount: 0,
            DeliveryTimedOutCount: 0,
            ...(body.TimeoutSeconds ? { TimeoutSeconds: body.TimeoutSeconds } : {}),
          },
        },
        "SendCommand",
      );
    },
    GetCommandInvocation(body, res) {
      const inv = invocations.get(key(String(body.CommandId), String(body.InstanceId)));
      if (!inv) return fail(res, 400, "InvocationDoesNotExist", "");
      // Like the real service just after SendCommand: the first read finds no invocation yet.
      if (inv.polled++ === 0) return fail(res, 400, "InvocationDoesNotExist", "");
      const bucket = requests.find((r) => r.operation === "SendCommand" && r.body.OutputS3BucketName)?.body;
      send(
        res,
        200,
        {
          CommandId: inv.commandId,
          InstanceId: inv.instanceId,
          Comment: inv.comment,
          DocumentName: inv.documentName,
          DocumentVersion: "$DEFAULT",
          PluginName: "aws:runShellScript",
          ResponseCode: inv.responseCode,
          ExecutionStartDateTime: new Date(inv.started).toISOString(),
          ExecutionElapsedTime: `PT${(((inv.ended ?? Date.now()) - inv.started) / 1000).toFixed(3)}S`,
          ...(inv.ended ? { ExecutionEndDateTime: new Date(inv.ended).toISOString() } : {}),
          Status: inv.status,
          StatusDetails: inv.statusDetails,
          StandardOutputContent: inv.stdout.slice(0, STDOUT_LIMIT),
          StandardOutputUrl: bucket
            ? `https://s3.eu-west-1.amazonaws.com/${bucket.OutputS3BucketName}/${inv.commandId}/${inv.instanceId}/awsrunShellScript/0.awsrunShellScript/stdout`
            : "",
          StandardErrorContent: inv.stderr.slice(0, STDERR_LIMIT),
          StandardErrorUrl: "",
          CloudWatchOutputConfig: { CloudWatchOutputEnabled: false },
        },
        "GetCommandInvocation",
      );
    },
    CancelCommand(body, res) {
      const commandId = String(body.CommandId);
      const mine = [...invocations.values()].filter((i) => i.commandId === commandId);
      if (mine.length === 0) return fail(res, 400, "InvalidCommandId", "");
      for (const inv of mine) {
        if (inv.status !== "InProgress" && inv.status !== "Pending") continue;
        inv.status = "Cancelled";
        inv.statusDetails = "Cancelled";
        if (inv.child)
          try {
            process.kill(-inv.child.pid!, "SIGKILL");
          } catch {}
      }
      send(res, 200, {}, "CancelCommand");
    },
    DescribeInstanceInformation(body, res) {
      const filters = (body.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
      const wanted = filters.find((f) => f.Key === "InstanceIds")?.Values;
      const list = Object.entries(options.instances)
        .filter(([id]) => !wanted || wanted.includes(id))
        .map(([id, ping]) => ({
          InstanceId: id,
          PingStatus: ping,
          LastPingDateTime: Date.now() / 1000,
          AgentVersion: "3.3.1142.0",
          IsLatestVersion: true,
          PlatformType: options.windows?.includes(id) ? "Windows" : "Linux",
          PlatformName: options.windows?.includes(id)
            ? "Microsoft Windows Server 2022 Datacenter"
            : "Amazon Linux",
          ResourceType: "EC2Instance",
        }));
      send(res, 200, { InstanceInformationList: list }, "DescribeInstanceInformation");
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const auth = String(req.headers.authorization ?? "");
      const scope =
        /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([a-z0-9-]+)\/([a-z0-9]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
          auth,
        );
      if (req.method !== "POST" || req.url !== "/")
        return fail(res, 404, "UnknownOperationException", "POST / only");
      if (req.headers["content-type"] !== "application/x-amz-json-1.1")
        return fail(res, 400, "SerializationException", "Content-Type must be application/x-amz-json-1.1");
      if (scope?.[3] !== "ssm" || !scope[4]!.split(";").includes("x-amz-target"))
        return fail(
          res,
          400,
          "IncompleteSignature",
          "a SigV4 Authorization header scoped to ssm is required",
        );
      if (!req.headers["x-amz-date"]) return fail(res, 400, "IncompleteSignature", "X-Amz-Date is required");
      const accessKeyId = scope[1]!;
      const temporary = options.acceptTemporaryKeys && accessKeyId.startsWith("ASIA");
      if (!options.accessKeys.includes(accessKeyId) && !temporary)
        return fail(
          res,
          400,
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
        );
      if (temporary && !req.headers["x-amz-security-token"])
        return fail(
          res,
          400,
          "UnrecognizedClientException",
          "temporary credentials need X-Amz-Security-Token",
        );
      const [prefix, operation = ""] = target.split(".");
      if (prefix !== model.metadata.targetPrefix || !model.operations[operation] || !handlers[operation])
        return fail(res, 400, "UnknownOperationException", `unsupported operation ${target}`);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      } catch {
        return fail(res, 400, "SerializationException", "the body is not JSON");
      }
      const sessionToken = req.headers["x-amz-security-token"] as string | undefined;
      requests.push({ operation, body, accessKeyId, ...(sessionToken ? { sessionToken } : {}) });
      const problems = validateShape(model, model.operations[operation]!.input.shape, body);
      if (problems.length > 0) {
        violations.push(...problems.map((p) => `request ${operation}: ${p}`));
        return fail(res, 400, "ValidationException", problems.join("; "));
      }
      if (operation === "DescribeInstanceInformation" && options.deniedDescribe?.includes(accessKeyId))
        return fail(
          res,
          400,
          "AccessDeniedException",
          `User is not authorized to perform: ssm:DescribeInstanceInformation`,
        );
      handlers[operation]!(body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    violations,
    invocations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const inv of invocations.values())
          if (inv.child)
            try {
              process.kill(-inv.child.pid!, "SIGKILL");
            } catch {}
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
