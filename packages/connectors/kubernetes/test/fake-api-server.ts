/**
 * A fake Kubernetes API server for tests: the endpoints the connector (and kubectl, for the
 * cross-check) uses, with bearer-token auth, legacy discovery, strategic-merge/merge patches
 * applied and the resulting objects validated against the Kubernetes OpenAPI schemas (the
 * validators `kubernetes-models` compiles from them), and the WebSocket exec sub-protocols
 * `v5.channel.k8s.io` / `v4.channel.k8s.io` that really run the command (argv, no shell) here.
 * Anything else is answered 404/405/415/422 as the API server does, with a `Status` body.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { SelfSubjectAccessReview } from "kubernetes-models/authorization.k8s.io/v1/SelfSubjectAccessReview";
import { Scale } from "kubernetes-models/autoscaling/v1/Scale";
import { Eviction } from "kubernetes-models/policy/v1/Eviction";
import { Node } from "kubernetes-models/v1/Node";
import { Pod } from "kubernetes-models/v1/Pod";
import { WebSocketServer } from "ws";

// biome-ignore lint/suspicious/noExplicitAny: JSON objects of many kinds, checked by the schema validators
type Obj = Record<string, any>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
  body?: unknown;
  userAgent?: string;
}

export interface FakeApiServer {
  url: string;
  port: number;
  token: string;
  requests: RecordedRequest[];
  /** Objects by `<resource>/<namespace>/<name>` (nodes: `nodes//<name>`). */
  objects: Map<string, Obj>;
  /** Permissions the SelfSubjectAccessReview denies, as `verb resource[/subresource]`. */
  denied: Set<string>;
  /** Log lines per `namespace/pod`. */
  logs: Map<string, string[]>;
  /** Exec sub-protocols negotiated, in order. */
  execProtocols: string[];
  /** After a rollout restart patch, the fake's controller marks the rollout done after this many reads. */
  rolloutReads: number;
  /** Evictions answered 429 (a PodDisruptionBudget forbids it) before one is allowed. */
  evictionRefusals: number;
  close(): Promise<void>;
}

const APPS_RESOURCES = ["deployments", "statefulsets", "daemonsets"] as const;
const KIND_OF: Record<string, string> = {
  deployments: "Deployment",
  statefulsets: "StatefulSet",
  daemonsets: "DaemonSet",
  pods: "Pod",
  nodes: "Node",
};
const VALIDATOR: Record<string, (o: Obj) => void> = {
  deployments: (o) => new Deployment(o as never).validate(),
  statefulsets: (o) => new StatefulSet(o as never).validate(),
  daemonsets: (o) => new DaemonSet(o as never).validate(),
  pods: (o) => new Pod(o as never).validate(),
  nodes: (o) => new Node(o as never).validate(),
};

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    }),
  );
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** JSON merge patch (RFC 7386); for these maps a strategic merge patch merges the same way. */
function merge(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Obj =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [key, value] of Object.entries(patch as Obj)) {
    if (value === null) delete out[key];
    else out[key] = merge(out[key], value);
  }
  return out;
}

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: app, image: "nginx:1.27" }] },
});

/** Seeds a namespace `shop` with a deployment, a statefulset, a daemonset, pods and nodes. */
function seed(objects: Map<string, Obj>): void {
  const meta = (name: string, namespace?: string) => ({
    name,
    ...(namespace ? { namespace } : {}),
    uid: `uid-${name}`,
    generation: 1,
    resourceVersion: "1",
    creationTimestamp: "2026-12-01T00:00:00Z",
  });
  const ready = {
    observedGeneration: 1,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
  };
  objects.set("deployments/shop/checkout", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta("checkout", "shop"),
    spec: { replicas: 3, selector: { matchLabels: { app: "checkout" } }, template: podTemplate("checkout") },
    status: ready,
  });
  objects.set("statefulsets/shop/cache", {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta("cache", "shop"),
    spec: {
      replicas: 3,
      serviceName: "cache",
      selector: { matchLabels: { app: "cache" } },
      template: podTemplate("cache"),
    },
    status: ready,
  });
  objects.set("daemonsets/shop/agent", {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: meta("agent", "shop"),
    spec: { selector: { matchLabels: { app: "agent" } }, template: podTemplate("agent") },
    status: {
      observedGeneration: 1,
      currentNumberScheduled: 2,
      numberMisscheduled: 0,
      desiredNumberScheduled: 2,
      numberReady: 2,
      updatedNumberScheduled: 2,
      numberAvailable: 2,
    },
  });
  const pod = (name: string, node: string, extra: Obj = {}) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...meta(name, "shop"), labels: { app: name.split("-")[0] }, ...(extra.metadata ?? {}) },
    spec: {
      nodeName: node,
      containers: [{ name: name.split("-")[0], image: "nginx:1.27" }],
      ...(extra.spec ?? {}),
    },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [
        {
          name: name.split("-")[0],
          image: "nginx:1.27",
          imageID: "",
          ready: true,
          restartCount: 0,
          started: true,
        },
      ],
    },
  });
  objects.set("pods/shop/checkout-7d9f-abcde", pod("checkout-7d9f-abcde", "node-1"));
  objects.set("pods/shop/checkout-7d9f-fghij", pod("checkout-7d9f-fghij", "node-2"));
  objects.set(
    "pods/shop/agent-x1",
    pod("agent-x1", "node-1", {
      metadata: {
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "uid-agent", controller: true },
        ],
      },
    }),
  );
  for (const name of ["node-1", "node-2"])
    objects.set(`nodes//${name}`, {
      apiVersion: "v1",
      kind: "Node",
      metadata: meta(name),
      spec: {},
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
}

const resourceList = (
  groupVersion: string,
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[],
) => ({
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion,
  resources: resources.map((r) => ({ singularName: "", ...r })),
});

const coreResources = resourceList("v1", [
  { name: "pods", kind: "Pod", namespaced: true, verbs: ["get", "list", "delete", "patch"] },
  { name: "pods/exec", kind: "PodExecOptions", namespaced: true, verbs: ["create", "get"] },
  { name: "pods/log", kind: "Pod", namespaced: true, verbs: ["get"] },
  { name: "pods/eviction", kind: "Eviction", namespaced: true, verbs: ["create"] },
  { name: "nodes", kind: "Node", namespaced: false, verbs: ["get", "list", "patch"] },
]);
const appsResources = resourceList("apps/v1", [
  { name: "deployments", kind: "Deployment", namespaced: true, verbs: ["get", "list", "patch", "update"] },
  { name: "deployments/scale", kind: "Scale", namespaced: true, verbs: ["get", "patch", "update"] },
  { name: "statefulsets", kind: "StatefulSet", namespaced: true, verbs: ["get", "list", "patch", "update"] },
  { name: "statefulsets/scale", kind: "Scale", namespaced: true, verbs: ["get", "patch", "update"] },
  { name: "daemonsets", kind: "DaemonSet", namespaced: true, verbs: ["get", "list", "patch", "update"] },
]);

const PATCH_TYPES = new Set(["application/strategic-merge-patch+json", "application/merge-patch+json"]);

/** `tls`: serve HTTPS with this key and certificate (kubectl sends a bearer token only over TLS). */
export async function startFakeApiServer(
  options: {
    token?: string;
    /** `clientCa`: also accept a client certificate signed by this CA whose CN is `clientCn`. */
    tls?: { key: string; cert: string; clientCa?: string; clientCn?: string };
    /** The exec sub-protocols the server speaks, preferred first (an older API server: v4 only). */
    execProtocols?: readonly string[];
  } = {},
): Promise<FakeApiServer> {
  const token = options.token ?? "fake-sa-token-0123456789";
  const objects = new Map<string, Obj>();
  seed(objects);
  const requests: RecordedRequest[] = [];
  const denied = new Set<string>();
  const logs = new Map<string, string[]>([
    ["shop/checkout-7d9f-abcde", Array.from({ length: 50 }, (_, i) => `checkout log line ${i + 1}`)],
  ]);
  const execProtocols: string[] = [];
  const pendingRollouts = new Map<string, number>();
  const state = { rolloutReads: 1, evictionRefusals: 0 };
  let rv = 100;

  const speaks = options.execProtocols ?? ["v5.channel.k8s.io", "v4.channel.k8s.io"];
  const authorized = (req: IncomingMessage) => {
    if (req.headers.authorization === `Bearer ${token}`) return true;
    // A verified client certificate with the expected common name (x509 client auth).
    const socket = req.socket as import("node:tls").TLSSocket;
    if (!options.tls?.clientCa || !socket.authorized) return false;
    return socket.getPeerCertificate().subject?.CN === options.tls.clientCn;
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  function withController(key: string, object: Obj): Obj {
    // The fake's controller: after a restart, a workload reports an in-progress rollout for a few reads.
    const left = pendingRollouts.get(key);
    if (left === undefined) return object;
    if (left <= 0) {
      pendingRollouts.delete(key);
      const n = object.spec.replicas;
      object.status =
        object.kind === "DaemonSet"
          ? { ...object.status, observedGeneration: object.metadata.generation }
          : {
              ...object.status,
              observedGeneration: object.metadata.generation,
              replicas: n,
              updatedReplicas: n,
              readyReplicas: n,
              availableReplicas: n,
            };
      return object;
    }
    pendingRollouts.set(key, left - 1);
    return { ...object, status: { ...object.status, updatedReplicas: 1 } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname.replace(/\/+$/, "");
    const method = req.method ?? "GET";
    const raw = method === "GET" || method === "DELETE" ? await readBody(req) : await readBody(req);
    const contentType = req.headers["content-type"]?.split(";")[0]?.trim();
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return status(res, 400, "BadRequest", "the request body is not JSON");
      }
    }
    requests.push({
      method,
      path,
      query: url.searchParams,
      contentType,
      body,
      userAgent: req.headers["user-agent"],
    });
    if (!authorized(req)) return status(res, 401, "Unauthorized", "Unauthorized");

    if (method === "GET" && path === "/version")
      return json(res, 200, { major: "1", minor: "32", gitVersion: "v1.32.0-fake", platform: "linux/amd64" });
    if (method === "GET" && path === "/api")
      return json(res, 200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    if (method === "GET" && path === "/apis")
      return json(res, 200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: ["apps", "authorization.k8s.io", "policy"].map((name) => ({
          name,
          versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
          preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
        })),
      });
    if (method === "GET" && path === "/api/v1") return json(res, 200, coreResources);
    if (method === "GET" && path === "/apis/apps/v1") return json(res, 200, appsResources);
    if (method === "GET" && (path === "/apis/policy/v1" || path === "/apis/authorization.k8s.io/v1"))
      return json(res, 200, resourceList(path.slice(6), []));

    if (method === "POST" && path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
      if (contentType !== "application/json")
        return status(res, 415, "UnsupportedMediaType", `unsupported ${contentType}`);
      try {
        new SelfSubjectAccessReview(body as never).validate();
      } catch (error) {
        return status(res, 422, "Invalid", `SelfSubjectAccessReview is invalid: ${(error as Error).message}`);
      }
      const attrs = (body as Obj).spec?.resourceAttributes ?? {};
      const key = `${attrs.verb} ${attrs.resource}${attrs.subresource ? `/${attrs.subresource}` : ""}`;
      return json(res, 201, { ...(body as Obj), status: { allowed: !denied.has(key) } });
    }

    // Apps workloads and their scale subresource.
    let m =
      /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets|daemonsets)\/([^/]+)(\/scale)?$/.exec(
        path,
      );
    if (m) {
      const [, ns, resource, name, scale] = m as unknown as [
        string,
        string,
        (typeof APPS_RESOURCES)[number],
        string,
        string?,
      ];
      const key = `${resource}/${ns}/${name}`;
      const object = objects.get(key);
      if (!object) return status(res, 404, "NotFound", `${resource}.apps "${name}" not found`);
      if (scale && resource === "daemonsets")
        return status(res, 404, "NotFound", "the server could not find the requested resource");
      if (method === "GET") {
        if (scale) return json(res, 200, scaleOf(object));
        return json(res, 200, withController(key, object));
      }
      if (method !== "PATCH") return status(res, 405, "MethodNotAllowed", `${method} is not allowed`);
      if (!contentType || !PATCH_TYPES.has(contentType))
        return status(
          res,
          415,
          "UnsupportedMediaType",
          `the patch content type ${contentType} is not supported here`,
        );
      if (!body || typeof body !== "object" || Array.isArray(body))
        return status(res, 400, "BadRequest", "the patch must be a JSON object");
      if (scale) {
        const next = merge(scaleOf(object), body) as Obj;
        try {
          new Scale(next as never).validate();
        } catch (error) {
          return status(
            res,
            422,
            "Invalid",
            `Scale.autoscaling "${name}" is invalid: ${(error as Error).message}`,
          );
        }
        object.spec.replicas = next.spec.replicas;
        object.metadata.resourceVersion = String(++rv);
        // The fake's controller: the replica count converges at once.
        object.status = {
          ...object.status,
          replicas: next.spec.replicas,
          updatedReplicas: next.spec.replicas,
          readyReplicas: next.spec.replicas,
          availableReplicas: next.spec.replicas,
        };
        return json(res, 200, scaleOf(object));
      }
      const next = merge(object, body) as Obj;
      try {
        VALIDATOR[resource]!(next);
      } catch (error) {
        return status(
          res,
          422,
          "Invalid",
          `${KIND_OF[resource]}.apps "${name}" is invalid: ${(error as Error).message}`,
        );
      }
      if (JSON.stringify(next.spec) !== JSON.stringify(object.spec)) {
        next.metadata.generation = (object.metadata.generation ?? 1) + 1;
        pendingRollouts.set(key, state.rolloutReads);
      }
      next.metadata.resourceVersion = String(++rv);
      objects.set(key, next);
      return json(res, 200, next);
    }

    // Pods: read, delete, logs, eviction; list across namespaces.
    if (method === "GET" && (path === "/api/v1/pods" || /^\/api\/v1\/namespaces\/[^/]+\/pods$/.test(path))) {
      const selector = url.searchParams.get("fieldSelector");
      const ns = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)?.[1];
      const node = selector?.startsWith("spec.nodeName=")
        ? selector.slice("spec.nodeName=".length)
        : undefined;
      if (selector && node === undefined)
        return status(res, 400, "BadRequest", `field label not supported: ${selector}`);
      const items = [...objects.entries()]
        .filter(
          ([k, o]) =>
            k.startsWith("pods/") &&
            (!ns || o.metadata.namespace === ns) &&
            (!node || o.spec.nodeName === node),
        )
        .map(([, o]) => o);
      return json(res, 200, {
        kind: "PodList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(rv) },
        items,
      });
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/log|\/eviction)?$/.exec(path);
    if (m) {
      const [, ns, name, sub] = m as unknown as [string, string, string, string?];
      const key = `pods/${ns}/${name}`;
      const pod = objects.get(key);
      if (!pod) return status(res, 404, "NotFound", `pods "${name}" not found`);
      if (sub === "/log" && method === "GET") {
        const lines = logs.get(`${ns}/${name}`) ?? [];
        const tail = url.searchParams.get("tailLines");
        const container = url.searchParams.get("container");
        if (container && !pod.spec.containers.some((c: Obj) => c.name === container))
          return status(res, 400, "BadRequest", `container ${container} is not valid for pod ${name}`);
        const shown = tail === null ? lines : lines.slice(Math.max(0, lines.length - Number(tail)));
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(shown.map((l) => `${l}\n`).join(""));
        return;
      }
      if (sub === "/eviction" && method === "POST") {
        try {
          new Eviction(body as never).validate();
        } catch (error) {
          return status(res, 422, "Invalid", `Eviction is invalid: ${(error as Error).message}`);
        }
        if ((body as Obj).metadata?.name !== name)
          return status(res, 400, "BadRequest", "name in URL does not match the eviction");
        if (state.evictionRefusals > 0) {
          state.evictionRefusals--;
          return status(
            res,
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
          );
        }
        objects.delete(key);
        return json(res, 201, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          code: 201,
        });
      }
      if (!sub && method === "GET") return json(res, 200, pod);
      if (!sub && method === "DELETE") {
        objects.delete(key);
        return json(res, 200, pod);
      }
      return status(res, 405, "MethodNotAllowed", `${method} is not allowed`);
    }

    // Nodes.
    m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (m) {
      const key = `nodes//${m[1]}`;
      const node = objects.get(key);
      if (!node) return status(res, 404, "NotFound", `nodes "${m[1]}" not found`);
      if (method === "GET") return json(res, 200, node);
      if (method !== "PATCH") return status(res, 405, "MethodNotAllowed", `${method} is not allowed`);
      if (!contentType || !PATCH_TYPES.has(contentType))
        return status(
          res,
          415,
          "UnsupportedMediaType",
          `the patch content type ${contentType} is not supported here`,
        );
      const next = merge(node, body) as Obj;
      try {
        new Node(next as never).validate();
      } catch (error) {
        return status(res, 422, "Invalid", `Node "${m[1]}" is invalid: ${(error as Error).message}`);
      }
      next.metadata.resourceVersion = String(++rv);
      objects.set(key, next);
      return json(res, 200, next);
    }
    return status(res, 404, "NotFound", "the server could not find the requested resource");
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error) => status(res, 500, "InternalError", String(error)));
  };
  const server: Server = options.tls
    ? createHttpsServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.clientCa
            ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: false }
            : {}),
        },
        listener,
      )
    : createServer(listener);

  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => {
      for (const p of speaks) if (protocols.has(p)) return p;
      return false;
    },
  });

  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://fake");
    requests.push({ method: "UPGRADE", path: url.pathname, query: url.searchParams });
    const reject = (code: number, text: string) => {
      socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`);
    };
    if (!authorized(req)) return reject(401, "Unauthorized");
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    if (!m) return reject(404, "Not Found");
    const pod = objects.get(`pods/${m[1]}/${m[2]}`);
    if (!pod) return reject(404, "Not Found");
    const offered = String(req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((s) => s.trim());
    if (!speaks.some((p) => offered.includes(p))) return reject(400, "Bad Request");
    const command = url.searchParams.getAll("command");
    const container = url.searchParams.get("container") || pod.spec.containers[0].name;
    if (command.length === 0) return reject(400, "Bad Request");
    wss.handleUpgrade(req, socket, head, (ws) => {
      execProtocols.push(ws.protocol);
      const send = (channel: number, data: Buffer | string) =>
        ws.send(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
      if (!pod.spec.containers.some((c: Obj) => c.name === container)) {
        send(
          3,
          JSON.stringify({
            metadata: {},
            status: "Failure",
            message: `container ${container} is not valid for pod ${m[2]}`,
            reason: "BadRequest",
            code: 400,
          }),
        );
        ws.close(1000);
        return;
      }
      const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (c: Buffer) => send(1, c));
      child.stderr.on("data", (c: Buffer) => send(2, c));
      ws.on("close", () => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      child.on("error", (error) => {
        send(
          3,
          JSON.stringify({
            metadata: {},
            status: "Failure",
            message: `exec failed: ${error.message}`,
            reason: "InternalError",
            code: 500,
          }),
        );
        ws.close(1000);
      });
      child.on("close", (code) => {
        if (ws.readyState !== ws.OPEN) return;
        // kubelet's remotecommand status (k8s.io/apimachinery remotecommand, NonZeroExitCode).
        send(
          3,
          JSON.stringify(
            code === 0
              ? { metadata: {}, status: "Success" }
              : {
                  metadata: {},
                  status: "Failure",
                  message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${code}`,
                  reason: "NonZeroExitCode",
                  details: { causes: [{ reason: "ExitCode", message: String(code) }] },
                },
          ),
        );
        ws.close(1000);
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const fake: FakeApiServer = {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    token,
    requests,
    objects,
    denied,
    logs,
    execProtocols,
    get rolloutReads() {
      return state.rolloutReads;
    },
    set rolloutReads(n: number) {
      state.rolloutReads = n;
    },
    get evictionRefusals() {
      return state.evictionRefusals;
    },
    set evictionRefusals(n: number) {
      state.evictionRefusals = n;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

function scaleOf(object: Obj): Obj {
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      resourceVersion: object.metadata.resourceVersion,
    },
    spec: { replicas: object.spec.replicas },
    status: { replicas: object.status?.replicas ?? 0, selector: "app" },
  };
}
