/**
 * An HTTPS fake of Entra ID's token endpoint and the Azure Resource Manager operations the
 * connector calls, in test code, with a self-signed certificate generated here (the SDK sends
 * bearer tokens over HTTPS only), plus a plain-HTTP fake of the VM's Instance Metadata Service
 * (IMDS) for managed identity.
 *
 * ARM replays the Azure REST API specification's examples stored in `fixtures/spec-examples`
 * (Microsoft.Compute 2026-03-01, see SOURCES.md): the operation's api-version is enforced, the
 * 202 answer carries the header names the example lists (`location`; with `asyncHeaders: "arm"`
 * also `Azure-AsyncOperation`, as Azure sends for Run Command), the Location monitor answers 202
 * until done and then the example's 200 (Run Command: its result), the instance view is the
 * example's body with the fake VM's power state. Request shapes are enforced: no body and only
 * the spec's query parameters for restart/start/deallocate, Run Command's `commandId`/`script`.
 * Run Command really runs a Linux VM's script under `sh` (the Linux extension's message format);
 * a Windows VM's RunPowerShellScript goes to the `powershell` handler a test gives (no PowerShell
 * on these machines) and answers the example's ComponentStatus/StdOut|StdErr statuses.
 *
 * Entra ID's token endpoint takes a client secret or a certificate's client assertion (a JWT
 * whose `x5t#S256`/`x5t` must be the registered certificate's thumbprint and whose PS256/RS256
 * signature must verify with its key).
 */
import { spawn, spawnSync } from "node:child_process";
import { constants, createHash, randomBytes, randomUUID, verify, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One Azure REST API specification example (`x-ms-examples` file). */
export interface SpecExample {
  parameters: Record<string, unknown>;
  responses: Record<string, { headers?: Record<string, string>; body?: unknown }>;
  operationId: string;
  title: string;
}

/** Reads a stored example of `fixtures/spec-examples`. */
export function specExample(file: string): SpecExample {
  return JSON.parse(readFileSync(new URL(`./fixtures/spec-examples/${file}`, import.meta.url), "utf8"));
}

const examples = {
  runCommand: specExample("VirtualMachineRunCommand.json"),
  restart: specExample("VirtualMachine_Restart_MaximumSet_Gen.json"),
  start: specExample("VirtualMachine_Start_MaximumSet_Gen.json"),
  deallocate: specExample("VirtualMachine_Deallocate_MinimumSet_Gen.json"),
  instanceView: specExample("VirtualMachine_Get_InstanceView.json"),
};
/** The api-version of the stored examples (all one). */
export const SPEC_API_VERSION = String(examples.restart.parameters["api-version"]);
for (const example of Object.values(examples))
  if (example.parameters["api-version"] !== SPEC_API_VERSION)
    throw new Error(`${example.title}: api-version ${String(example.parameters["api-version"])}`);

/** Query parameters each operation's spec defines besides api-version. */
const actionQuery: Record<string, readonly string[]> = {
  restart: [],
  start: [],
  deallocate: ["hibernate", "forceDeallocate"],
  runCommand: [],
  instanceView: [],
};

export interface FakeVm {
  power: string;
  /** `windows` VMs take RunPowerShellScript, `linux` (default) RunShellScript. */
  os?: "linux" | "windows";
}

export interface FakeAzure {
  url: string;
  /** The self-signed certificate (PEM), to trust. */
  ca: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Certificates (PEM) registered for the client id: a client assertion must be signed by one. */
  clientCertificates: string[];
  /** The header and claims of every client assertion received. */
  assertions: { header: Record<string, unknown>; claims: Record<string, unknown> }[];
  subscriptionId: string;
  resourceGroup: string;
  vms: Map<string, FakeVm>;
  tokens: string[];
  requests: { method: string; path: string; query: string; body: string; headers: Record<string, unknown> }[];
  /** What Microsoft.Authorization/permissions answers for the VMs. */
  permissions: { actions: string[]; notActions: string[] }[];
  /** Async-operation polls answered InProgress (or 202) before Succeeded. */
  pollsBeforeDone: number;
  /** `example`: the 202 headers the spec example lists; `arm`: also Azure-AsyncOperation. */
  asyncHeaders: "example" | "arm";
  /** Runs a Windows VM's RunPowerShellScript lines (a test's stand-in for PowerShell). */
  powershell?: (script: string[]) => { stdout: string; stderr: string; failed?: boolean };
  /** The IMDS fake (plain HTTP, like IMDS): `http://127.0.0.1:PORT`. */
  imdsUrl: string;
  /** Managed identities IMDS serves: `system` and user-assigned client ids. */
  imdsIdentities: Set<string>;
  imdsRequests: { path: string; query: URLSearchParams; headers: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** Generates a self-signed certificate and its key with openssl (`rsa` for client certificates). */
export function certificate(kind: "ec" | "rsa" = "ec", cn = "127.0.0.1"): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "rw-azure-ca-"));
  try {
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        ...(kind === "ec" ? ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["rsa:2048"]),
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        `/CN=${cn}`,
        ...(kind === "ec"
          ? ["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"]
          : []),
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

const b64url = (buffer: Buffer) => buffer.toString("base64url");

/**
 * Checks a client assertion (RFC 7523) the way Entra ID does for certificate credentials:
 * the thumbprint header names a registered certificate and the signature verifies with its key.
 */
function checkAssertion(
  fake: FakeAzure,
  jwt: string,
  audience: string,
): { ok: true } | { ok: false; code: string; description: string } {
  const [h, c, sig] = jwt.split(".");
  if (!h || !c || !sig)
    return { ok: false, code: "invalid_client", description: "AADSTS50027: JWT token is invalid" };
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as Record<string, unknown>;
  fake.assertions.push({ header, claims });
  const cert = fake.clientCertificates
    .map((pem) => new X509Certificate(pem))
    .find(
      (x) =>
        header["x5t#S256"] === b64url(createHash("sha256").update(x.raw).digest()) ||
        header.x5t === b64url(createHash("sha1").update(x.raw).digest()),
    );
  if (!cert)
    return {
      ok: false,
      code: "invalid_client",
      description:
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.",
    };
  const signed = Buffer.from(`${h}.${c}`);
  const signature = Buffer.from(sig, "base64url");
  const valid =
    header.alg === "PS256"
      ? verify(
          "sha256",
          signed,
          { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          signature,
        )
      : header.alg === "RS256"
        ? verify("sha256", signed, cert.publicKey, signature)
        : false;
  if (!valid)
    return {
      ok: false,
      code: "invalid_client",
      description: "AADSTS700027: Client assertion failed signature validation.",
    };
  const now = Date.now() / 1000;
  if (
    claims.aud !== audience ||
    claims.iss !== fake.clientId ||
    claims.sub !== fake.clientId ||
    typeof claims.exp !== "number" ||
    claims.exp < now ||
    typeof claims.jti !== "string"
  )
    return {
      ok: false,
      code: "invalid_client",
      description: "AADSTS700024: Client assertion is not within its valid time range or has wrong claims.",
    };
  return { ok: true };
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
    clientCertificates: [],
    assertions: [],
    subscriptionId: randomUUID(),
    resourceGroup: "rg-prod",
    vms: new Map(),
    tokens: [],
    requests: [],
    permissions: [{ actions: ["Microsoft.Compute/virtualMachines/*"], notActions: [] }],
    pollsBeforeDone: 1,
    asyncHeaders: "example",
    imdsUrl: "",
    imdsIdentities: new Set(["system"]),
    imdsRequests: [],
    close: () =>
      Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => imds.close(() => resolve())),
      ]).then(() => undefined),
  };

  function issue(): string {
    const token = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString("base64url")}.sig`;
    fake.tokens.push(token);
    return token;
  }

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
      const assertion = form.get("client_assertion");
      if (assertion !== null) {
        if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
          send(res, 400, {
            error: "invalid_request",
            error_description: "AADSTS50027: bad client_assertion_type",
          });
          return true;
        }
        const checked = checkAssertion(fake, assertion, `${fake.url}/${tenant}/oauth2/v2.0/token`);
        if (!checked.ok) {
          send(res, 401, { error: checked.code, error_description: checked.description });
          return true;
        }
      } else if (form.get("client_secret") !== fake.clientSecret) {
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
      send(res, 200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: issue() });
      return true;
    }
    return false;
  }

  /** A 202's headers: those the example lists (values pointing here), and Azure-AsyncOperation in `arm` mode. */
  function startOperation(example: SpecExample, op: Operation): Record<string, string> {
    const id = randomUUID();
    operations.set(id, op);
    const base = `${fake.url}/subscriptions/${fake.subscriptionId}/providers/Microsoft.Compute/locations/westeurope/operations/${id}`;
    const headers: Record<string, string> = { "retry-after": "0" };
    for (const name of Object.keys(example.responses["202"]?.headers ?? {})) {
      if (name.toLowerCase() === "location")
        headers.location = `${base}?p=${randomUUID()}&monitor=true&api-version=${SPEC_API_VERSION}`;
      if (name.toLowerCase() === "azure-asyncoperation")
        headers["azure-asyncoperation"] = `${base}?p=${randomUUID()}&api-version=${SPEC_API_VERSION}`;
    }
    if (!headers.location) throw new Error(`${example.title} lists no Location header`);
    if (fake.asyncHeaders === "arm")
      headers["azure-asyncoperation"] = `${base}?p=${randomUUID()}&api-version=${SPEC_API_VERSION}`;
    return headers;
  }

  /** Counts a poll; the operation succeeds after `pollsBeforeDone` polls once its work is done. */
  async function poll(entry: Operation): Promise<void> {
    entry.polls++;
    if (entry.run && !entry.done) await entry.run;
    if (entry.polls > fake.pollsBeforeDone && entry.done && entry.status === "InProgress") {
      entry.status = "Succeeded";
      entry.finish?.();
    }
  }

  function runShell(script: string[]): Operation {
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

  /** The example's Windows answer, its messages replaced by what the handler produced. */
  function runPowerShell(script: string[]): Operation {
    const ran = fake.powershell?.(script) ?? { stdout: "", stderr: "no PowerShell handler", failed: true };
    const template = examples.runCommand.responses["200"]!.body as { value: Record<string, string>[] };
    const value = template.value.map((status) => {
      const isOut = status.code!.startsWith("ComponentStatus/StdOut/");
      return {
        ...status,
        code: ran.failed ? status.code!.replace(/succeeded$/, "failed") : status.code,
        message: isOut ? ran.stdout : ran.stderr,
      };
    });
    return { polls: 0, done: true, status: "InProgress", result: { value } };
  }

  function instanceView(name: string, vm: FakeVm): unknown {
    const body = structuredClone(examples.instanceView.responses["200"]!.body) as {
      computerName: string;
      statuses: { code: string; displayStatus: string }[];
    };
    body.computerName = name;
    body.statuses = body.statuses.map((s) =>
      s.code.startsWith("PowerState/")
        ? { ...s, code: `PowerState/${vm.power}`, displayStatus: `VM ${vm.power}` }
        : s,
    );
    return body;
  }

  const server = createServer({ key, cert }, async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "https://fake");
    fake.requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: url.search,
      body,
      headers: req.headers,
    });
    if (aad(req, res, url.pathname, body)) return;
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !fake.tokens.includes(auth.slice(7))) {
      res.setHeader(
        "www-authenticate",
        'Bearer authorization_uri="https://login.windows.net/", error="invalid_token"',
      );
      return armError(res, 401, "InvalidAuthenticationToken", "The access token is invalid.");
    }
    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion)
      return armError(
        res,
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    if (/\/providers\/Microsoft\.Authorization\/permissions$/i.test(url.pathname) && req.method === "GET") {
      if (apiVersion !== "2022-04-01")
        return armError(
          res,
          400,
          "InvalidApiVersionParameter",
          `The api-version '${apiVersion}' is invalid.`,
        );
      return send(res, 200, { value: fake.permissions });
    }
    if (apiVersion !== SPEC_API_VERSION)
      return armError(
        res,
        400,
        "InvalidApiVersionParameter",
        `The api-version '${apiVersion}' is invalid. The supported versions here are '${SPEC_API_VERSION}'.`,
      );
    const op =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/operations\/([^/]+)$/.exec(
        url.pathname,
      );
    if (op && req.method === "GET") {
      const entry = operations.get(op[3]!);
      if (!entry) return armError(res, 404, "NotFound", "operation not found");
      await poll(entry);
      if (url.searchParams.get("monitor") === "true") {
        // Location: 202 while running, then the example's 200 (the operation's result).
        if (entry.status === "InProgress")
          return send(res, 202, undefined, {
            location: `${fake.url}${url.pathname}${url.search}`,
            "retry-after": "0",
          });
        return entry.result === undefined ? send(res, 200) : send(res, 200, entry.result);
      }
      return send(res, 200, {
        startTime: "2026-12-07T10:00:00.0000000+00:00",
        ...(entry.status === "InProgress" ? {} : { endTime: "2026-12-07T10:00:05.0000000+00:00" }),
        status: entry.status,
        name: op[3],
      });
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
    const allowed = actionQuery[verb ?? ""];
    const extraQuery = [...url.searchParams.keys()].filter(
      (k) => k !== "api-version" && !allowed?.includes(k),
    );
    if (allowed && extraQuery.length > 0)
      return armError(res, 400, "InvalidParameter", `Unknown query parameter(s) ${extraQuery.join(", ")}.`);
    const vm = fake.vms.get(name!);
    if (!vm)
      return armError(
        res,
        404,
        "ResourceNotFound",
        `The Resource 'Microsoft.Compute/virtualMachines/${name}' under resource group '${fake.resourceGroup}' was not found.`,
      );
    if (verb === "instanceView" && req.method === "GET") return send(res, 200, instanceView(name!, vm));
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
      const windows = vm.os === "windows";
      if ((input.commandId === "RunPowerShellScript") !== windows)
        return armError(
          res,
          409,
          "OperationNotAllowed",
          `${String(input.commandId)} is not supported on this ${windows ? "Windows" : "Linux"} VM.`,
        );
      const script = input.script as string[];
      return send(
        res,
        202,
        undefined,
        startOperation(examples.runCommand, windows ? runPowerShell(script) : runShell(script)),
      );
    }
    if ((verb === "restart" || verb === "deallocate" || verb === "start") && req.method === "POST") {
      if (body.length > 0)
        return armError(res, 400, "InvalidRequestContent", `The ${verb} operation takes no request body.`);
      if (verb === "restart" && vm.power !== "running")
        return armError(res, 409, "OperationNotAllowed", "Cannot restart a VM that is not running.");
      const entry: Operation = { polls: 0, done: true, status: "InProgress" };
      entry.finish = () => {
        vm.power = verb === "deallocate" ? "deallocated" : "running";
      };
      if (verb === "deallocate") vm.power = "deallocating";
      if (verb === "start") vm.power = "starting";
      return send(res, 202, undefined, startOperation(examples[verb], entry));
    }
    return armError(res, 404, "NotFound", "not found");
  });

  // IMDS (http://169.254.169.254 on a VM): GET /metadata/identity/oauth2/token, Metadata: true.
  const imds = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://imds");
    fake.imdsRequests.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
    // MSAL sends the path with a trailing slash.
    if (url.pathname.replace(/\/$/, "") !== "/metadata/identity/oauth2/token")
      return send(res, 404, { error: "not_found", error_description: "no such path" });
    if (req.headers.metadata !== "true")
      return send(res, 400, {
        error: "invalid_request",
        error_description: "Required metadata header not specified",
      });
    if (url.searchParams.get("api-version") !== "2018-02-01" || !url.searchParams.get("resource"))
      return send(res, 400, {
        error: "invalid_request",
        error_description: "api-version and resource are required",
      });
    const who = url.searchParams.get("client_id") ?? "system";
    if (!fake.imdsIdentities.has(who))
      return send(res, 400, { error: "invalid_request", error_description: "Identity not found" });
    if (url.searchParams.get("resource") !== "https://management.azure.com")
      return send(res, 400, {
        error: "invalid_resource",
        error_description: "AADSTS500011: resource not found",
      });
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    return send(res, 200, {
      access_token: issue(),
      client_id: who === "system" ? randomUUID() : who,
      expires_in: "3599",
      expires_on: String(expiresOn),
      ext_expires_in: "3599",
      not_before: String(expiresOn - 3600),
      resource: "https://management.azure.com",
      token_type: "Bearer",
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => imds.listen(0, "127.0.0.1", resolve));
  const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
  fake.url = `https://127.0.0.1:${port(server)}`;
  fake.imdsUrl = `http://127.0.0.1:${port(imds)}`;
  return fake;
}
