/**
 * An HTTPS fake of Entra ID's token endpoint and the Azure Resource Manager operations the
 * connector calls, in test code, with a self-signed certificate generated here (the SDK sends
 * bearer tokens over HTTPS only). Request and response shapes follow the Azure REST API
 * specification's examples for Compute (VirtualMachineRunCommand, Restart, Deallocate, Start,
 * InstanceView) as in /work/shared/fixtures/cloud-azure: 202 with Azure-AsyncOperation and Location
 * headers, the operation status resource, then the result at Location. Run Command really runs
 * the script under `sh` and answers the Linux extension's message format.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeAzure {
  url: string;
  /** The self-signed certificate (PEM), to trust. */
  ca: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptionId: string;
  resourceGroup: string;
  vms: Map<string, { power: string }>;
  tokens: string[];
  requests: { method: string; path: string; query: string; body: string }[];
  /** What Microsoft.Authorization/permissions answers for the VMs. */
  permissions: { actions: string[]; notActions: string[] }[];
  /** Async-operation polls answered InProgress before Succeeded. */
  pollsBeforeDone: number;
  close(): Promise<void>;
}

function certificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "rw-azure-ca-"));
  try {
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
      ],
      { encoding: "utf8" },
    );
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    return {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    "x-ms-request-id": randomUUID(),
    ...headers,
  });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function armError(res: ServerResponse, status: number, code: string, message: string) {
  send(res, status, { error: { code, message } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

interface Operation {
  polls: number;
  done: boolean;
  status: "InProgress" | "Succeeded" | "Failed";
  result?: unknown;
  run?: Promise<void>;
  finish?: () => void;
}

export async function startFakeAzure(): Promise<FakeAzure> {
  const { key, cert } = certificate();
  const operations = new Map<string, Operation>();
  const fake: FakeAzure = {
    url: "",
    ca: cert,
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: `s3cr3t~${randomBytes(12).toString("base64url")}`,
    subscriptionId: randomUUID(),
    resourceGroup: "rg-prod",
    vms: new Map(),
    tokens: [],
    requests: [],
    permissions: [{ actions: ["Microsoft.Compute/virtualMachines/*"], notActions: [] }],
    pollsBeforeDone: 1,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  function aad(req: IncomingMessage, res: ServerResponse, path: string, body: string): boolean {
    const tenant = fake.tenantId;
    if (path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      send(res, 200, {
        token_endpoint: `${fake.url}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${fake.url}/${tenant}/oauth2/v2.0/authorize`,
        issuer: `${fake.url}/${tenant}/v2.0`,
        jwks_uri: `${fake.url}/${tenant}/discovery/v2.0/keys`,
        response_types_supported: ["code", "id_token", "token"],
        end_session_endpoint: `${fake.url}/${tenant}/oauth2/v2.0/logout`,
      });
      return true;
    }
    if (path === `/${tenant}/oauth2/v2.0/token` && req.method === "POST") {
      if (!req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) {
        send(res, 400, { error: "invalid_request", error_description: "AADSTS900144: form body expected" });
        return true;
      }
      const form = new URLSearchParams(body);
      if (form.get("grant_type") !== "client_credentials" || form.get("client_id") !== fake.clientId) {
        send(res, 400, {
          error: "unauthorized_client",
          error_description: "AADSTS700016: Application not found",
        });
        return true;
      }
      if (form.get("client_secret") !== fake.clientSecret) {
        send(res, 401, {
          error: "invalid_client",
          error_description: "AADSTS7000215: Invalid client secret provided.",
          error_codes: [7000215],
        });
        return true;
      }
      if (!form.get("scope")?.split(" ").includes("https://management.azure.com/.default")) {
        send(res, 400, { error: "invalid_scope", error_description: "AADSTS70011: invalid scope" });
        return true;
      }
      const token = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString("base64url")}.sig`;
      fake.tokens.push(token);
      send(res, 200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token });
      return true;
    }
    return false;
  }

  function startOperation(location: string, op: Operation): Record<string, string> {
    const id = randomUUID();
    operations.set(id, op);
    const base = `${fake.url}/subscriptions/${fake.subscriptionId}/providers/Microsoft.Compute/locations/${location}/operations/${id}`;
    return {
      "azure-asyncoperation": `${base}?api-version=2024-07-01`,
      location: `${base}?monitor=true&api-version=2024-07-01`,
      "retry-after": "0",
    };
  }

  function runScript(script: string[]): Operation {
    const op: Operation = { polls: 0, done: false, status: "InProgress" };
    op.run = new Promise<void>((resolve) => {
      const child = spawn("sh", ["-c", script.join("\n")], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("close", (code) => {
        const ok = code === 0;
        op.result = {
          value: [
            {
              code: ok ? "ProvisioningState/succeeded" : "ProvisioningState/failed/1",
              level: ok ? "Info" : "Error",
              displayStatus: ok ? "Provisioning succeeded" : "Provisioning failed",
              message: ok
                ? `Enable succeeded: \n[stdout]\n${stdout}\n[stderr]\n${stderr}`
                : `Enable failed: failed to execute command: command terminated with exit status=${code}\n[stdout]\n${stdout}\n[stderr]\n${stderr}`,
            },
          ],
        };
        op.done = true;
        resolve();
      });
    });
    return op;
  }

  const server = createServer({ key, cert }, async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "https://fake");
    fake.requests.push({ method: req.method ?? "", path: url.pathname, query: url.search, body });
    if (aad(req, res, url.pathname, body)) return;
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !fake.tokens.includes(auth.slice(7))) {
      res.setHeader(
        "www-authenticate",
        'Bearer authorization_uri="https://login.windows.net/", error="invalid_token"',
      );
      return armError(res, 401, "InvalidAuthenticationToken", "The access token is invalid.");
    }
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(url.searchParams.get("api-version") ?? ""))
      return armError(
        res,
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    const op =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/operations\/([^/]+)$/.exec(
        url.pathname,
      );
    if (op && req.method === "GET") {
      const entry = operations.get(op[3]!);
      if (!entry) return armError(res, 404, "NotFound", "operation not found");
      if (url.searchParams.get("monitor") === "true") {
        // Location: 202 while running, then the operation's result.
        if (!entry.done || entry.status === "InProgress")
          return send(res, 202, undefined, {
            location: `${fake.url}${url.pathname}${url.search}`,
            "retry-after": "0",
          });
        return entry.result === undefined ? send(res, 200) : send(res, 200, entry.result);
      }
      entry.polls++;
      if (entry.run && !entry.done) await entry.run;
      if (entry.polls > fake.pollsBeforeDone && entry.done) {
        if (entry.status === "InProgress") {
          entry.status = "Succeeded";
          entry.finish?.();
        }
      }
      return send(res, 200, {
        startTime: "2026-12-07T10:00:00.0000000+00:00",
        ...(entry.status === "InProgress" ? {} : { endTime: "2026-12-07T10:00:05.0000000+00:00" }),
        status: entry.status,
        name: op[3],
      });
    }
    if (/\/providers\/Microsoft\.Authorization\/permissions$/i.test(url.pathname) && req.method === "GET") {
      return send(res, 200, { value: fake.permissions });
    }
    const vmPath = new RegExp(
      `^/subscriptions/${fake.subscriptionId}/resourceGroups/${fake.resourceGroup}/providers/Microsoft\\.Compute/virtualMachines/([^/]+)(?:/([A-Za-z]+))?$`,
      "i",
    ).exec(url.pathname);
    if (!vmPath)
      return armError(
        res,
        404,
        "ResourceGroupNotFound",
        `Resource group or path '${url.pathname}' could not be found.`,
      );
    const [, name, verb] = vmPath;
    const vm = fake.vms.get(name!);
    if (!vm)
      return armError(
        res,
        404,
        "ResourceNotFound",
        `The Resource 'Microsoft.Compute/virtualMachines/${name}' under resource group '${fake.resourceGroup}' was not found.`,
      );
    if (verb === "instanceView" && req.method === "GET") {
      return send(res, 200, {
        computerName: name,
        osName: "ubuntu",
        osVersion: "22.04",
        statuses: [
          {
            code: "ProvisioningState/succeeded",
            level: "Info",
            displayStatus: "Provisioning succeeded",
            time: "2026-12-07T09:00:00+00:00",
          },
          { code: `PowerState/${vm.power}`, level: "Info", displayStatus: `VM ${vm.power}` },
        ],
      });
    }
    if (verb === "runCommand" && req.method === "POST") {
      if (!req.headers["content-type"]?.startsWith("application/json"))
        return armError(res, 415, "UnsupportedMediaType", "JSON expected");
      let input: { commandId?: unknown; script?: unknown; parameters?: unknown };
      try {
        input = JSON.parse(body);
      } catch {
        return armError(
          res,
          400,
          "InvalidRequestContent",
          "The request content was invalid and could not be deserialized.",
        );
      }
      const extra = Object.keys(input).filter((k) => !["commandId", "script", "parameters"].includes(k));
      if (
        (input.commandId !== "RunShellScript" && input.commandId !== "RunPowerShellScript") ||
        !Array.isArray(input.script) ||
        !input.script.every((l) => typeof l === "string") ||
        extra.length > 0
      )
        return armError(
          res,
          400,
          "InvalidParameter",
          "The value of parameter commandId or script is invalid.",
        );
      if (vm.power !== "running")
        return armError(
          res,
          409,
          "OperationNotAllowed",
          "Operation 'RunCommand' is not allowed since the VM is not running.",
        );
      if (input.commandId === "RunPowerShellScript")
        return armError(
          res,
          409,
          "OperationNotAllowed",
          "RunPowerShellScript is for Windows VMs; this is a Linux VM.",
        );
      return send(res, 202, undefined, startOperation("westeurope", runScript(input.script as string[])));
    }
    if ((verb === "restart" || verb === "deallocate" || verb === "start") && req.method === "POST") {
      if (verb === "restart" && vm.power !== "running")
        return armError(res, 409, "OperationNotAllowed", "Cannot restart a VM that is not running.");
      const entry: Operation = { polls: 0, done: true, status: "InProgress" };
      entry.finish = () => {
        vm.power = verb === "deallocate" ? "deallocated" : "running";
      };
      if (verb === "deallocate") vm.power = "deallocating";
      return send(res, 202, undefined, startOperation("westeurope", entry));
    }
    return armError(res, 404, "NotFound", "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  fake.url = `https://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return fake;
}
