/**
 * A fake of the Google APIs the connector calls, in test code: the OAuth 2.0 token endpoint
 * (JWT-bearer grant, signature verified with the service account's public key), Compute Engine
 * `instances.get/reset/stop/start/testIamPermissions` and `zoneOperations.wait`, and OS Login
 * `users.importSshPublicKey`. Every API call must carry the bearer token it issued; bodies must be
 * JSON with the documented fields; anything else is answered with Google's error shape.
 *
 * The imported key is written to the real test sshd's authorized_keys with an `expiry-time`, as
 * OS Login's AuthorizedKeysCommand would serve it on a VM, so the SSH leg is real.
 */
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface FakeInstance {
  name: string;
  status: string;
  natIP?: string;
  networkIP?: string;
}

export interface FakeGcp {
  url: string;
  email: string;
  /** The service-account key JSON (the vault value). */
  keyJson: string;
  /** A key JSON whose private key Google does not know. */
  wrongKeyJson: string;
  project: string;
  zone: string;
  instances: Map<string, FakeInstance>;
  /** Access tokens issued so far. */
  tokens: string[];
  requests: { method: string; path: string; body: string }[];
  /** Permissions testIamPermissions grants. */
  granted: Set<string>;
  /** Operations stay RUNNING for this many wait calls. */
  waitsBeforeDone: number;
  /** Imported public keys. */
  imported: string[];
  close(): Promise<void>;
  /** Removes the keys it added to authorized_keys. */
  cleanup(): void;
}

const MARK = "runwarden-gcp-fake";
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
  res.end(JSON.stringify(body));
}

function googleError(res: ServerResponse, status: number, message: string) {
  const statusText: Record<number, string> = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
  };
  send(res, status, { error: { code: status, message, status: statusText[status] ?? "UNKNOWN" } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function b64url(text: string): Buffer {
  return Buffer.from(text, "base64url");
}

function expiry(usec: string): string {
  const d = new Date(Number(BigInt(usec) / 1000n));
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** Starts the fake on 127.0.0.1, port 0. `authorizedKeys` is the sshd's authorized_keys file. */
export async function startFakeGcp(options: { authorizedKeys?: string; sshUser: string }): Promise<FakeGcp> {
  const project = "shop-prod-123";
  const zone = "europe-west1-b";
  const email = `runwarden@${project}.iam.gserviceaccount.com`;
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyId = randomBytes(20).toString("hex");
  const keyFile = (privateKey: string) =>
    JSON.stringify({
      type: "service_account",
      project_id: project,
      private_key_id: keyId,
      private_key: privateKey,
      client_email: email,
      client_id: "123456789012345678901",
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: GOOGLE_TOKEN_URL,
    });
  const publicKey = createPublicKey(pair.privateKey);
  const operations = new Map<
    string,
    { op: Record<string, unknown>; waits: number; instance: string; action: string }
  >();
  let opSeq = 1;

  const fake: FakeGcp = {
    url: "",
    email,
    keyJson: keyFile(pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string),
    wrongKeyJson: keyFile(other.privateKey.export({ type: "pkcs8", format: "pem" }) as string),
    project,
    zone,
    instances: new Map(),
    tokens: [],
    requests: [],
    granted: new Set([
      "compute.instances.get",
      "compute.instances.reset",
      "compute.instances.stop",
      "compute.instances.start",
      "compute.instances.osAdminLogin",
    ]),
    waitsBeforeDone: 1,
    imported: [],
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    cleanup: () => {
      if (!options.authorizedKeys) return;
      const kept = readFileSync(options.authorizedKeys, "utf8")
        .split("\n")
        .filter((line) => !line.includes(MARK));
      writeFileSync(options.authorizedKeys, kept.join("\n"));
    },
  };

  function token(req: IncomingMessage, res: ServerResponse, body: string) {
    if (
      req.method !== "POST" ||
      !req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")
    )
      return send(res, 400, { error: "invalid_request", error_description: "POST a form" });
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
      return send(res, 400, { error: "unsupported_grant_type" });
    const [h, p, s] = (form.get("assertion") ?? "").split(".");
    if (!h || !p || !s) return send(res, 400, { error: "invalid_grant", error_description: "malformed JWT" });
    const header = JSON.parse(b64url(h).toString()) as { alg?: string; kid?: string };
    const claims = JSON.parse(b64url(p).toString()) as {
      iss?: string;
      aud?: string;
      scope?: string;
      exp?: number;
    };
    const verifier = createVerify("RSA-SHA256");
    verifier.update(`${h}.${p}`);
    const valid = header.alg === "RS256" && verifier.verify(publicKey, b64url(s));
    if (!valid || claims.iss !== email || claims.aud !== GOOGLE_TOKEN_URL)
      return send(res, 400, { error: "invalid_grant", error_description: "Invalid JWT Signature." });
    if (!claims.scope?.split(" ").includes("https://www.googleapis.com/auth/cloud-platform"))
      return send(res, 400, { error: "invalid_scope" });
    const access = `ya29.${randomBytes(24).toString("base64url")}`;
    fake.tokens.push(access);
    send(res, 200, { access_token: access, expires_in: 3599, token_type: "Bearer" });
  }

  function instanceJson(instance: FakeInstance) {
    return {
      kind: "compute#instance",
      id: "4567890123456789012",
      name: instance.name,
      zone: `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}`,
      status: instance.status,
      networkInterfaces: [
        {
          name: "nic0",
          networkIP: instance.networkIP,
          accessConfigs: instance.natIP
            ? [{ type: "ONE_TO_ONE_NAT", name: "External NAT", natIP: instance.natIP }]
            : [],
        },
      ],
    };
  }

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://fake");
    fake.requests.push({ method: req.method ?? "", path: url.pathname, body });
    if (url.pathname === "/token") return token(req, res, body);
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !fake.tokens.includes(auth.slice(7)))
      return googleError(res, 401, "Request had invalid authentication credentials.");
    let json: Record<string, unknown> = {};
    if (req.method === "POST" && body) {
      if (!req.headers["content-type"]?.startsWith("application/json"))
        return googleError(res, 400, "Invalid JSON payload: not application/json");
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return googleError(res, 400, "Invalid JSON payload received.");
      }
    }
    const oslogin = /^\/oslogin\/v1\/users\/([^/:]+):importSshPublicKey$/.exec(url.pathname);
    if (oslogin && req.method === "POST") {
      const user = decodeURIComponent(oslogin[1]!);
      if (user !== email) return googleError(res, 403, "The caller does not have permission");
      if (url.searchParams.get("projectId") !== project)
        return googleError(res, 400, "projectId is required");
      const key = json.key;
      const exp = json.expirationTimeUsec;
      const extra = Object.keys(json).filter((k) => k !== "key" && k !== "expirationTimeUsec");
      if (
        typeof key !== "string" ||
        !/^ssh-(ed25519|rsa) [A-Za-z0-9+/=]+( .*)?$/.test(key) ||
        extra.length > 0
      )
        return googleError(res, 400, "Invalid JSON payload received: key");
      if (typeof exp !== "string" || !/^\d+$/.test(exp))
        return googleError(res, 400, "expirationTimeUsec must be an int64 string");
      fake.imported.push(key);
      if (options.authorizedKeys) {
        const [type, blob] = key.split(" ");
        appendFileSync(options.authorizedKeys, `expiry-time="${expiry(exp)}" ${type} ${blob} ${MARK}\n`);
      }
      return send(res, 200, {
        loginProfile: {
          name: "123456789012345678901",
          posixAccounts: [
            {
              primary: true,
              username: options.sshUser,
              uid: "1234567890",
              gid: "1234567890",
              homeDirectory: `/home/${options.sshUser}`,
              operatingSystemType: "LINUX",
              accountId: project,
            },
          ],
          sshPublicKeys: { fp: { key, expirationTimeUsec: exp, fingerprint: "fp" } },
        },
      });
    }
    const m =
      /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instances|operations)\/([^/]+)(?:\/([A-Za-z]+))?$/.exec(
        url.pathname,
      );
    if (!m || m[1] !== project || m[2] !== zone)
      return googleError(res, 404, `The resource '${url.pathname}' was not found`);
    const [, , , collection, name, verb] = m;
    if (collection === "operations") {
      const entry = operations.get(name!);
      if (!entry || verb !== "wait" || req.method !== "POST")
        return googleError(res, 404, `operation ${name} not found`);
      entry.waits++;
      if (entry.waits >= fake.waitsBeforeDone && entry.op.status !== "DONE") {
        entry.op.status = "DONE";
        const instance = fake.instances.get(entry.instance)!;
        instance.status = entry.action === "stop" ? "TERMINATED" : "RUNNING";
      }
      return send(res, 200, entry.op);
    }
    const instance = fake.instances.get(name!);
    if (!instance)
      return googleError(
        res,
        404,
        `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`,
      );
    if (!verb && req.method === "GET") return send(res, 200, instanceJson(instance));
    if (verb === "testIamPermissions" && req.method === "POST") {
      const asked = json.permissions;
      if (!Array.isArray(asked)) return googleError(res, 400, "permissions is required");
      return send(res, 200, { permissions: asked.filter((p) => fake.granted.has(String(p))) });
    }
    if ((verb === "reset" || verb === "stop" || verb === "start") && req.method === "POST") {
      if (!fake.granted.has(`compute.instances.${verb}`))
        return googleError(res, 403, `Required 'compute.instances.${verb}' permission`);
      const opName = `operation-${Date.now()}-${opSeq++}`;
      const op = {
        kind: "compute#operation",
        name: opName,
        operationType: verb,
        targetLink: `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/instances/${name}`,
        status: "RUNNING",
        progress: 0,
      };
      if (verb === "stop") instance.status = "STOPPING";
      operations.set(opName, { op, waits: 0, instance: name!, action: verb });
      return send(res, 200, op);
    }
    return googleError(res, 404, "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  fake.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return fake;
}

/** A fake of the GCE metadata server (workload identity / a VM's service account). */
export interface FakeMetadata {
  /** `127.0.0.1:PORT`, for GCE_METADATA_HOST. */
  host: string;
  requests: { path: string; query: URLSearchParams; flavor: string | undefined }[];
  close(): Promise<void>;
}

/**
 * Starts a fake metadata server: `GET /computeMetadata/v1/instance/service-accounts/default/token`
 * (and `…/email`) with the `Metadata-Flavor: Google` request header required and sent back, as
 * the metadata server documents. Tokens it issues are `fake`'s, so the fake APIs accept them.
 */
export async function startFakeMetadata(fake: FakeGcp): Promise<FakeMetadata> {
  const meta: FakeMetadata = { host: "", requests: [], close: async () => {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://metadata");
    const flavor = req.headers["metadata-flavor"] as string | undefined;
    meta.requests.push({ path: url.pathname, query: url.searchParams, flavor });
    const answer = (status: number, body: string, type = "application/text") => {
      res.writeHead(status, { "metadata-flavor": "Google", "content-type": type });
      res.end(body);
    };
    if (flavor !== "Google") return answer(403, "Missing Metadata-Flavor:Google header.");
    const path = url.pathname.replace(/\/$/, "");
    if (path === "/computeMetadata/v1/instance") return answer(200, "attributes/\nservice-accounts/\n");
    if (path === "/computeMetadata/v1/instance/service-accounts/default/email")
      return answer(200, fake.email);
    if (path === "/computeMetadata/v1/instance/service-accounts/default/token") {
      const scopes = url.searchParams.get("scopes");
      if (scopes !== null && !scopes.split(",").includes("https://www.googleapis.com/auth/cloud-platform"))
        return answer(400, "scope not granted");
      const access = `ya29.c.${randomBytes(24).toString("base64url")}`;
      fake.tokens.push(access);
      return answer(
        200,
        JSON.stringify({ access_token: access, expires_in: 3599, token_type: "Bearer" }),
        "application/json",
      );
    }
    return answer(404, "Not Found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  meta.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  meta.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return meta;
}
