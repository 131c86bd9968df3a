// The contract suite tested against connectors broken in exactly one way each: every rule the
// suite's tests enforce must pass on the well-behaved connector and fail, naming the rule, on the
// broken one. The suite's `it` blocks call these same check functions.
import {
  type ConnectorDefinition,
  type ConnectorKind,
  defineConnector,
  rwError,
  type WebhookRequest,
} from "@runwarden/core";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { closedPort } from "../src/internal/capture.js";
import {
  checkCapabilitiesMatchMethods,
  checkConfigSchema,
  checkDescribe,
  checkExecAbort,
  checkHealthAborted,
  checkHealthFailing,
  checkIdempotentComment,
  checkIdempotentCreate,
  checkOpenAborted,
  checkOperation,
  checkPullChangesCursor,
  checkRefusesGarbage,
  checkRejectedCredential,
  checkSampleWebhook,
  checkSecretHygiene,
  checkStreamOutput,
  checkTimeout,
  checkUnreachable,
  checkVendorSetup,
  checkWebhookHostile,
  checkWebhookRefusesAnonymous,
  checkWebhookSamples,
  checkWriteDescribe,
  defaultOperation,
  sampleTicket,
} from "../src/internal/checks/index.js";
import { type Harness, registerForContract } from "../src/internal/harness.js";
import { ContractViolation } from "../src/internal/violation.js";
import {
  connection,
  createDeskStore,
  type DeskStore,
  memoryDesk,
  memoryMonitor,
  memoryShell,
  SECRET,
} from "./support/connectors.js";

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function register<K extends ConnectorKind>(definition: ConnectorDefinition<K>, config: unknown = {}) {
  const h = await registerForContract(definition, config);
  open.push(h as Harness);
  return h;
}

/** The rule a check broke, or "kept" when it passed. */
async function ruleOf(check: () => unknown): Promise<string> {
  try {
    await check();
  } catch (error) {
    if (error instanceof ContractViolation) return error.rule;
    throw error;
  }
  return "kept";
}

const live = connection();
const unreachable = () =>
  closedPort().then((port) => connection({ targetHost: "127.0.0.1", targetPort: port }));
const monitorConfig = { token: SECRET };
const signed = (body: unknown): WebhookRequest => ({
  headers: { authorization: `Bearer ${SECRET}` },
  body,
  rawBody: JSON.stringify(body),
});
const sample = signed({ alerts: [{ id: "a-1", title: "disk full on web-1" }] });

describe("registration through core's registry", () => {
  it("fails contract/registry with core's code when the sdk range excludes this core", async () => {
    const broken = { ...memoryShell(), sdk: "^9.0.0" };
    await expect(registerForContract(broken, {})).rejects.toMatchObject({
      rule: "contract/registry",
      message: expect.stringContaining("RW_ERR_PLUGIN_VERSION_MISMATCH"),
    });
  });

  it("fails contract/registry naming the issue when a capability is not one of its kind's", async () => {
    const broken = {
      ...memoryShell(),
      capabilities: ["run-command", "webhook"],
    } as unknown as ConnectorDefinition;
    await expect(registerForContract(broken, {})).rejects.toMatchObject({
      rule: "contract/registry",
      message: expect.stringContaining('capabilities.1: "webhook" is not a infrastructure capability'),
    });
  });

  it("fails contract/registry when the sample config does not parse", async () => {
    await expect(registerForContract(memoryShell(), { greeting: 42 })).rejects.toMatchObject({
      rule: "contract/registry",
      message: expect.stringContaining("RW_ERR_PLUGIN_INVALID"),
    });
  });

  it("registers a well-behaved connector and hands back the instance core created", async () => {
    const h = await register(memoryShell());
    expect(typeof h.instance.open).toBe("function");
  });
});

const sampleWebhookBody = { alerts: [{ id: "a-1", title: "Sample alert" }] };

describe("Connectors tab rules", () => {
  it("keeps contract/config-schema, vendor-setup and sample-webhook on a well-behaved webhook source", async () => {
    const good = defineConnector({
      ...memoryMonitor(),
      vendorSetup: ({ webhookUrl, webhookSecret }) => [
        {
          title: "Point it here",
          snippet: { language: "text", content: `${webhookUrl} ${webhookSecret ?? "<secret>"}` },
        },
      ],
      sampleWebhook: () => ({ body: sampleWebhookBody }),
    });
    const h = await register(good, monitorConfig);
    expect(
      await ruleOf(async () => {
        checkConfigSchema(h);
        checkVendorSetup(h);
        await checkSampleWebhook(h);
      }),
    ).toBe("kept");
  });

  it("fails contract/vendor-setup when a webhook source's steps do not name the webhook URL", async () => {
    const h = await register(
      defineConnector({ ...memoryMonitor(), vendorSetup: () => [{ title: "Point it at us" }] }),
      monitorConfig,
    );
    expect(await ruleOf(async () => checkVendorSetup(h))).toBe("contract/vendor-setup");
  });

  it("fails contract/vendor-setup when a step has no title or the steps drop a given secret", async () => {
    const untitled = await register(
      defineConnector({
        ...memoryMonitor(),
        vendorSetup: ({ webhookUrl }) => [{ title: "", text: webhookUrl }],
      }),
      monitorConfig,
    );
    expect(await ruleOf(async () => checkVendorSetup(untitled))).toBe("contract/vendor-setup");
    const dropped = await register(
      defineConnector({
        ...memoryMonitor(),
        vendorSetup: ({ webhookUrl, webhookSecret }) => [
          { title: "t", text: `${webhookUrl} ${webhookSecret ? "<hidden>" : "<secret>"}` },
        ],
      }),
      monitorConfig,
    );
    expect(await ruleOf(async () => checkVendorSetup(dropped))).toBe("contract/vendor-setup");
  });

  it("fails contract/sample-webhook when the connector's own parser refuses its sample", async () => {
    const h = await register(
      defineConnector({ ...memoryMonitor(), sampleWebhook: () => ({ body: "not what it parses" }) }),
      monitorConfig,
    );
    expect(await ruleOf(async () => checkSampleWebhook(h))).toBe("contract/sample-webhook");
  });
});

describe("declaration rules", () => {
  it("fails contract/config-refused when the config schema accepts garbage", async () => {
    const loose = defineConnector({ ...memoryShell(), configSchema: z.any() });
    expect(await ruleOf(async () => checkRefusesGarbage(await register(loose)))).toBe(
      "contract/config-refused",
    );
    expect(await ruleOf(async () => checkRefusesGarbage(await register(memoryShell())))).toBe("kept");
  });

  it("fails contract/capability-method when a declared capability has no method", async () => {
    const broken = memoryMonitor((good) => ({ ...good, acknowledge: undefined }));
    expect(
      await ruleOf(async () => checkCapabilitiesMatchMethods(await register(broken, monitorConfig))),
    ).toBe("contract/capability-method");
  });

  it("fails contract/capability-method when a method's capability is not declared", async () => {
    const undeclared = memoryMonitor(undefined, [
      "webhook",
      "verify-webhook",
      "pull",
      "acknowledge",
      "resolve",
    ]);
    expect(
      await ruleOf(async () => checkCapabilitiesMatchMethods(await register(undeclared, monitorConfig))),
    ).toBe("contract/capability-method");
    const good = await register(memoryMonitor(), monitorConfig);
    expect(await ruleOf(() => checkCapabilitiesMatchMethods(good))).toBe("kept");
  });
});

describe("monitoring webhooks", () => {
  it("fails contract/webhook-error-code when the parser throws a TypeError on a hostile body", async () => {
    const broken = memoryMonitor(() => ({
      parseWebhook: (request) => ({
        tickets: (request.body as { alerts: { id: string }[] }).alerts.map((a) => ({ title: a.id })),
        warnings: [],
      }),
    }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkWebhookHostile(h, sample.headers as Record<string, string>, 2000))).toBe(
      "contract/webhook-error-code",
    );
    const good = await register(memoryMonitor(), monitorConfig);
    expect(await ruleOf(() => checkWebhookHostile(good, {}, 2000))).toBe("kept");
  });

  it("fails contract/webhook-ticket when the parser returns an invalid TicketInput", async () => {
    const broken = memoryMonitor(() => ({
      parseWebhook: () => ({
        tickets: [{ title: "", source: "memory-monitor", fingerprint: "f" }],
        warnings: [],
      }),
    }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkWebhookSamples(h, [sample]))).toBe("contract/webhook-ticket");
    const good = await register(memoryMonitor(), monitorConfig);
    expect(await ruleOf(() => checkWebhookSamples(good, [sample]))).toBe("kept");
  });

  it("fails contract/webhook-ticket when a ticket's source is not the connector's name", async () => {
    const broken = memoryMonitor(() => ({
      parseWebhook: () => ({
        tickets: [{ title: "t", source: "someone-else", fingerprint: "f" }],
        warnings: [],
      }),
    }));
    expect(
      await ruleOf(async () => checkWebhookSamples(await register(broken, monitorConfig), [sample])),
    ).toBe("contract/webhook-ticket");
  });

  it("fails contract/webhook-prompt when the parser hangs on a hostile body", async () => {
    const broken = memoryMonitor((good) => ({
      parseWebhook: (request) =>
        request.rawBody.startsWith("{ not json") ? new Promise(() => {}) : good.parseWebhook!(request),
    }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkWebhookHostile(h, {}, 300))).toBe("contract/webhook-prompt");
  });

  it("fails contract/webhook-auth when verifyWebhook accepts a request without credentials", async () => {
    const broken = memoryMonitor(() => ({ verifyWebhook: () => true }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkWebhookRefusesAnonymous(h, sample))).toBe("contract/webhook-auth");
    const good = await register(memoryMonitor(), monitorConfig);
    expect(await ruleOf(() => checkWebhookRefusesAnonymous(good, sample))).toBe("kept");
  });
});

describe("monitoring and ticketing operations", () => {
  const ticket = sampleTicket("memory-monitor");

  it("fails contract/abort-operation when acknowledge ignores an aborted signal", async () => {
    // An aborted call must reject promptly with a RunwardenError: this one waits for the network.
    const broken = memoryMonitor(() => ({ acknowledge: () => new Promise(() => {}) }));
    const h = await register(broken, monitorConfig);
    expect(
      await ruleOf(() => checkOperation(h, "acknowledge", defaultOperation("acknowledge", ticket), 300)),
    ).toBe("contract/abort-operation");
    const good = await register(memoryMonitor(), monitorConfig);
    expect(
      await ruleOf(() => checkOperation(good, "acknowledge", defaultOperation("acknowledge", ticket), 300)),
    ).toBe("kept");
  });

  it("fails contract/abort-operation when an aborted pull rejects with a DOMException, not a RunwardenError", async () => {
    const broken = memoryMonitor(() => ({
      async *pull({ signal }) {
        signal.throwIfAborted();
        yield* await Promise.reject<never[]>(rwError("RW_ERR_CONNECTOR_UNREACHABLE", "down"));
      },
    }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkOperation(h, "pull", defaultOperation("pull", ticket), 300))).toBe(
      "contract/abort-operation",
    );
  });

  it("fails contract/error-code when resolve fails with a plain Error against a failing target", async () => {
    const broken = memoryMonitor(() => ({
      resolve: async (_t, options) => {
        if (options?.signal?.aborted) throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted");
        throw new Error("fetch failed");
      },
    }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkOperation(h, "resolve", defaultOperation("resolve", ticket), 300))).toBe(
      "contract/error-code",
    );
    const good = await register(memoryMonitor(), monitorConfig);
    expect(
      await ruleOf(() => checkOperation(good, "resolve", defaultOperation("resolve", ticket), 300)),
    ).toBe("kept");
  });

  it("fails contract/error-code when create succeeds against a target that is down", async () => {
    const broken = memoryDesk(() => ({
      create: async (_t, { signal }) => {
        if (signal.aborted) throw rwError("RW_ERR_CONNECTOR_TIMEOUT", "aborted");
        return { externalId: "T1" };
      },
    }));
    const h = await register(broken, { apiKey: SECRET, down: true });
    expect(await ruleOf(() => checkOperation(h, "create", defaultOperation("create", ticket), 300))).toBe(
      "contract/error-code",
    );
    const good = await register(memoryDesk(), { apiKey: SECRET, down: true });
    expect(await ruleOf(() => checkOperation(good, "create", defaultOperation("create", ticket), 300))).toBe(
      "kept",
    );
  });

  it("fails contract/health-prompt when a monitoring healthCheck hangs", async () => {
    const broken = memoryMonitor(() => ({ healthCheck: () => new Promise(() => {}) }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkHealthFailing(h, undefined, { promptMs: 100, timeoutMs: 200 }))).toBe(
      "contract/health-prompt",
    );
    const good = await register(memoryMonitor(), monitorConfig);
    expect(await ruleOf(() => checkHealthFailing(good, undefined, { promptMs: 100, timeoutMs: 200 }))).toBe(
      "kept",
    );
  });

  it("fails contract/health-shape when healthCheck answers ok against a failing target", async () => {
    const broken = memoryMonitor(() => ({ healthCheck: async () => ({ ok: true, latencyMs: 1 }) }));
    const h = await register(broken, monitorConfig);
    expect(await ruleOf(() => checkHealthFailing(h, undefined, { promptMs: 100, timeoutMs: 200 }))).toBe(
      "contract/health-shape",
    );
  });
});

describe("ticketing idempotency", () => {
  let store: DeskStore;
  const target = () => ({
    ticket: sampleTicket("memory-desk"),
    countTickets: () => store.tickets.length,
    countComments: (ref: { externalId: string }) =>
      store.notes.filter((n) => n.externalId === ref.externalId).length,
  });
  const config = { apiKey: SECRET };

  it("fails contract/idempotent-create when a retried create opens a second remote ticket", async () => {
    store = createDeskStore();
    const broken = memoryDesk(
      (_good, s) => ({
        async create() {
          s.tickets.push(`T${s.tickets.length + 1}`);
          return { externalId: s.tickets.at(-1)! };
        },
      }),
      store,
    );
    expect(
      await ruleOf(async () => checkIdempotentCreate(await register(broken, config), target(), "k")),
    ).toBe("contract/idempotent-create");
    store = createDeskStore();
    const good = await register(memoryDesk(undefined, store), config);
    expect(await ruleOf(() => checkIdempotentCreate(good, target(), "k"))).toBe("kept");
  });

  it("fails contract/idempotent-create when a retry returns the same id but made two tickets", async () => {
    store = createDeskStore();
    const broken = memoryDesk(
      (_good, s) => ({
        async create() {
          s.tickets.push("T-same");
          return { externalId: "T-same" };
        },
      }),
      store,
    );
    expect(
      await ruleOf(async () => checkIdempotentCreate(await register(broken, config), target(), "k")),
    ).toBe("contract/idempotent-create");
  });

  it("fails contract/idempotent-comment when a retried comment adds a second note", async () => {
    store = createDeskStore();
    const broken = memoryDesk(
      (_good, s) => ({
        async comment(ref, text) {
          s.notes.push({ externalId: ref.externalId, text });
        },
      }),
      store,
    );
    expect(
      await ruleOf(async () => checkIdempotentComment(await register(broken, config), target(), "k")),
    ).toBe("contract/idempotent-comment");
    store = createDeskStore();
    const good = await register(memoryDesk(undefined, store), config);
    expect(await ruleOf(() => checkIdempotentComment(good, target(), "k"))).toBe("kept");
  });

  it("fails contract/pull-changes-cursor when changes repeat after the cursor", async () => {
    store = createDeskStore();
    store.tickets.push("T1", "T2");
    const broken = memoryDesk(
      (_good, s) => ({
        async pullChanges() {
          return {
            changes: s.tickets.map((externalId) => ({
              externalId,
              kind: "updated" as const,
              updatedAt: "2026-01-01",
            })),
            cursor: "0",
          };
        },
      }),
      store,
    );
    expect(await ruleOf(async () => checkPullChangesCursor(await register(broken, config)))).toBe(
      "contract/pull-changes-cursor",
    );
    const good = await register(memoryDesk(undefined, store), config);
    expect(await ruleOf(() => checkPullChangesCursor(good))).toBe("kept");
  });
});

describe("infrastructure", () => {
  it("fails contract/abort-exec when exec ignores its AbortSignal mid-call", async () => {
    const broken = memoryShell((good) => ({
      async open(target, options) {
        const handle = await good.open(target, options);
        return {
          ...handle,
          exec: (request) =>
            request.command.startsWith("sleep")
              ? new Promise((resolve) =>
                  setTimeout(() => resolve({ exitCode: 0, stdout: "", stderr: "" }), 3_000),
                )
              : handle.exec(request),
        };
      },
    }));
    const h = await register(broken);
    const options = { slow: { command: "sleep 10" }, promptMs: 300 };
    expect(await ruleOf(() => checkExecAbort(h, live, options))).toBe("contract/abort-exec");
    const good = await register(memoryShell());
    expect(await ruleOf(() => checkExecAbort(good, live, options))).toBe("kept");
  });

  it("fails contract/abort-exec when an aborted exec rejects with a plain Error", async () => {
    const broken = memoryShell((good) => ({
      async open(target, options) {
        const handle = await good.open(target, options);
        return {
          ...handle,
          exec: async (request) => {
            if (request.signal.aborted) throw new Error("aborted");
            return handle.exec(request);
          },
        };
      },
    }));
    expect(await ruleOf(async () => checkExecAbort(await register(broken), live, { promptMs: 300 }))).toBe(
      "contract/abort-exec",
    );
  });

  it("fails contract/abort-open when open ignores an already aborted signal", async () => {
    const broken = memoryShell((good) => ({
      open: (target) => good.open(target, { signal: new AbortController().signal }),
    }));
    expect(await ruleOf(async () => checkOpenAborted(await register(broken), live, 300))).toBe(
      "contract/abort-open",
    );
    expect(await ruleOf(async () => checkOpenAborted(await register(memoryShell()), live, 300))).toBe("kept");
  });

  it("fails contract/health-prompt when healthCheck hangs past its signal", async () => {
    const broken = memoryShell(() => ({ healthCheck: () => new Promise(() => {}) }));
    const h = await register(broken);
    expect(await ruleOf(() => checkHealthAborted(h, live, 200))).toBe("contract/health-prompt");
    expect(
      await ruleOf(async () => checkHealthFailing(h, await unreachable(), { promptMs: 100, timeoutMs: 200 })),
    ).toBe("contract/health-prompt");
    const good = await register(memoryShell());
    expect(
      await ruleOf(async () =>
        checkHealthFailing(good, await unreachable(), { promptMs: 100, timeoutMs: 200 }),
      ),
    ).toBe("kept");
  });

  it("fails contract/error-code when an unreachable target fails with a plain Error", async () => {
    const broken = memoryShell(() => ({
      open: async (target) => {
        throw new Error(`connect ECONNREFUSED ${target.targetHost}:${target.targetPort}`);
      },
    }));
    expect(
      await ruleOf(async () => checkUnreachable(await register(broken), await unreachable(), undefined)),
    ).toBe("contract/error-code");
    expect(
      await ruleOf(async () =>
        checkUnreachable(await register(memoryShell()), await unreachable(), undefined),
      ),
    ).toBe("kept");
  });

  it("fails contract/auth-code when a refused credential is reported as unreachable", async () => {
    const rejected = connection({ credential: { ...live.credential!, secrets: { password: "wrong" } } });
    const broken = memoryShell((good) => ({
      open: async (target, options) => {
        if (target.credential?.secrets.password === "wrong")
          throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", "connection closed");
        return good.open(target, options);
      },
    }));
    expect(
      await ruleOf(async () => checkRejectedCredential(await register(broken), rejected, undefined)),
    ).toBe("contract/auth-code");
    expect(
      await ruleOf(async () => checkRejectedCredential(await register(memoryShell()), rejected, undefined)),
    ).toBe("kept");
  });

  it("fails contract/describe-line when describe returns two lines", async () => {
    const broken = memoryShell(() => ({ describe: (request) => `run\n${request.command}` }));
    expect(await ruleOf(async () => checkDescribe(await register(broken), undefined, [live]))).toBe(
      "contract/describe-line",
    );
  });

  it("fails contract/describe-line and contract/secret-leak for ticketing and monitoring writes described badly", async () => {
    const ticket = sampleTicket("memory-desk");
    const desk = (describe: () => string) =>
      memoryDesk(() => ({ describe }), createDeskStore(), ["create", "update", "comment", "describe"]);
    const good = await register(
      desk(() => "desk: write"),
      { apiKey: SECRET },
    );
    expect(await ruleOf(() => checkWriteDescribe(good, ticket))).toBe("kept");
    expect(await ruleOf(() => checkSecretHygiene(good, []))).toBe("kept");

    const twoLines = await register(
      desk(() => "desk:\nwrite"),
      { apiKey: SECRET },
    );
    expect(await ruleOf(() => checkWriteDescribe(twoLines, ticket))).toBe("contract/describe-line");

    const leaky = await register(
      desk(() => `desk with key ${SECRET}`),
      { apiKey: SECRET },
    );
    checkWriteDescribe(leaky, ticket);
    expect(await ruleOf(() => checkSecretHygiene(leaky, []))).toBe("contract/secret-leak");

    const silent = memoryMonitor(() => ({ describe: () => "" }), ["acknowledge", "resolve", "describe"]);
    expect(await ruleOf(async () => checkWriteDescribe(await register(silent, monitorConfig), ticket))).toBe(
      "contract/describe-line",
    );
  });

  it("fails contract/stream-output when onOutput gets less than the result holds", async () => {
    const broken = memoryShell((good) => ({
      async open(target, options) {
        const handle = await good.open(target, options);
        return { ...handle, exec: (request) => handle.exec({ ...request, onOutput: undefined }) };
      },
    }));
    expect(
      await ruleOf(async () => checkStreamOutput(await register(broken), live, { command: "echo" })),
    ).toBe("contract/stream-output");
    expect(
      await ruleOf(async () => checkStreamOutput(await register(memoryShell()), live, { command: "echo" })),
    ).toBe("kept");
  });

  it("fails contract/timeout when timeoutMs is ignored", async () => {
    const broken = memoryShell((good) => ({
      async open(target, options) {
        const handle = await good.open(target, options);
        return { ...handle, exec: (request) => handle.exec({ ...request, timeoutMs: undefined }) };
      },
    }));
    expect(
      await ruleOf(async () => checkTimeout(await register(broken), live, { command: "sleep 10" }, 300)),
    ).toBe("contract/timeout");
    expect(
      await ruleOf(async () =>
        checkTimeout(await register(memoryShell()), live, { command: "sleep 10" }, 300),
      ),
    ).toBe("kept");
  });
});

describe("secret hygiene", () => {
  it("fails contract/secret-leak when an error message carries the credential's secret", async () => {
    const target = await unreachable();
    const broken = memoryShell(() => ({
      open: async (t) => {
        throw rwError("RW_ERR_CONNECTOR_AUTH", `login with ${t.credential?.secrets.password} refused`);
      },
    }));
    const h = await register(broken);
    await checkUnreachable(h, target, undefined);
    expect(await ruleOf(() => checkSecretHygiene(h, Object.values(target.credential!.secrets)))).toBe(
      "contract/secret-leak",
    );
    const good = await register(memoryShell());
    await checkUnreachable(good, target, undefined);
    expect(await ruleOf(() => checkSecretHygiene(good, Object.values(target.credential!.secrets)))).toBe(
      "kept",
    );
  });

  it("fails contract/secret-leak when a secret sits in an error's details", async () => {
    const target = await unreachable();
    const broken = memoryShell(() => ({
      open: async (t) => {
        throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", "refused", {
          details: { credential: t.credential?.secrets },
        });
      },
    }));
    const h = await register(broken);
    await checkUnreachable(h, target, undefined);
    expect(await ruleOf(() => checkSecretHygiene(h, Object.values(target.credential!.secrets)))).toBe(
      "contract/secret-leak",
    );
  });

  it("fails contract/secret-leak when the connector logs a credential under a field core does not redact", async () => {
    // The connector's logger is core's (it redacts `secret()` config fields); a credential is not one.
    const broken = memoryShell((good, ctx) => ({
      open: async (t, o) => {
        ctx.logger.info({ pass: t.credential?.secrets.password }, "opening");
        return good.open(t, o);
      },
    }));
    const h = await register(broken);
    await (await h.instance.open(live, { signal: new AbortController().signal })).release();
    expect(await ruleOf(() => checkSecretHygiene(h, Object.values(live.credential!.secrets)))).toBe(
      "contract/secret-leak",
    );
  });

  it("fails contract/secret-leak when describe prints the password, and finds a secret() config value", async () => {
    const broken = memoryShell(() => ({
      describe: (request, t) => `sshpass -p ${t.credential?.secrets.password} ${request.command}`,
    }));
    const h = await register(broken);
    checkDescribe(h, undefined, [live]);
    expect(await ruleOf(() => checkSecretHygiene(h, Object.values(live.credential!.secrets)))).toBe(
      "contract/secret-leak",
    );

    // A config value marked secret() is looked for without being passed: the token leaks in an error.
    const leaky = memoryMonitor(() => ({
      acknowledge: async () => {
        throw rwError("RW_ERR_CONNECTOR_AUTH", `token ${SECRET} refused`);
      },
    }));
    const m = await register(leaky, monitorConfig);
    await checkOperation(
      m,
      "acknowledge",
      defaultOperation("acknowledge", sampleTicket("memory-monitor")),
      300,
    ).catch(() => {});
    expect(await ruleOf(() => checkSecretHygiene(m, []))).toBe("contract/secret-leak");
  });
});
