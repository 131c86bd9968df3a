/**
 * `testConnector(definition, options)`: the contract suite every connector runs, first- or
 * third-party. It registers vitest `describe`/`it` blocks, so a connector's test file is one call.
 * The connector is registered through core's own registry; each rule is a check in
 * internal/checks.ts; a capability the connector does not declare is reported as skipped.
 */
import {
  type ConnectorCapability,
  type ConnectorDefinition,
  type ConnectorKind,
  type CredentialSchema,
  capabilitiesOf,
  credentialFields,
  type ExecRequest,
  type ResolvedConnection,
  type ResolvedCredential,
  type Ticket,
} from "@runwarden/core";
import { afterAll, beforeAll, describe, it, type TestContext } from "vitest";
import type { z } from "zod";
import { closedPort } from "./internal/capture.js";
import {
  checkCapabilitiesMatchMethods,
  checkConfigSchema,
  checkDescribe,
  checkExecAbort,
  checkExecRuns,
  checkHealthAborted,
  checkHealthFailing,
  checkOpenAborted,
  checkOperation,
  checkRefusesGarbage,
  checkRejectedCredential,
  checkSampleWebhook,
  checkSecretHygiene,
  checkStreamOutput,
  checkTimeout,
  checkUnreachable,
  checkVendorSetup,
  checkWriteDescribe,
  defaultOperation,
  type OperationCapability,
  operationCapabilities,
  sampleTicket,
} from "./internal/checks/index.js";
import { type Harness, registerForContract } from "./internal/harness.js";

/** An operation of a monitoring or ticketing connector, exercised against a failing target. */
export type ContractOperation = (instance: unknown, options: { signal: AbortSignal }) => Promise<unknown>;

/** What the contract suite needs to know about a connector. */
export interface ContractOptions<S extends z.ZodType = z.ZodType> {
  /**
   * A config that must register (the suite creates the instance with it). Monitoring and
   * ticketing: it points at a failing target (a closed port), which every operation must report
   * with a connector error code.
   */
  config: z.input<S>;
  /** More configs that must be refused, besides the built-in garbage (a string, a number, null…). */
  invalidConfigs?: readonly unknown[];
  /**
   * Infrastructure: a connection to a live target with working credentials (a fake server, the
   * test sshd…). Enables the checks that need an open handle.
   */
  connection?: ResolvedConnection;
  /** Infrastructure: a request that succeeds quickly on `connection` and prints something (default `true` in sh). */
  request?: Partial<ExecRequest>;
  /** Infrastructure: a request that runs for seconds on `connection`, to abort or time out mid-flight. */
  slowRequest?: Partial<ExecRequest>;
  /**
   * Infrastructure: a connection whose target answers but refuses the credential; it must fail
   * with RW_ERR_CONNECTOR_AUTH and never echo the secret.
   */
  rejectedConnection?: ResolvedConnection;
  /**
   * Infrastructure: a connection nothing answers on. Default: 127.0.0.1 on a closed port, the
   * connector's first connection type, a credential holding canary secrets. `false` for a
   * connector that reaches nothing remote (the built-in local connector).
   */
  unreachableConnection?: ResolvedConnection | false;
  /**
   * Monitoring and ticketing: how to call an operation, by capability name (`pull`, `acknowledge`,
   * `resolve`, `create`, `update`, `comment`, `pull-changes`; `pullChanges` is accepted too), when the
   * default call (with `ticket`) does not suit. Other names add operations to check the same way.
   */
  operations?: Record<string, ContractOperation>;
  /** The ticket the default operations pass (default: a plain sample ticket). */
  ticket?: Ticket;
  /** Secret values that must never show in errors, descriptions or logs (credential and `secret()` config values are added). */
  secrets?: readonly string[];
  /** How long an aborted call may take to settle, in ms. Default 2000. */
  promptMs?: number;
  /** The signal timeout given to health checks against a failing target, in ms. Default 5000. */
  healthTimeoutMs?: number;
}

/** Canary secret values: unique per run, so a match can only come from a leak. */
function canary(label: string): string {
  return `rw-canary-${label}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * A credential of the connector's first declared type (or an untyped one): its required fields,
 * and `username`, `password`, `token` and `api_key` when the type has them; secret ones hold canaries.
 */
function contractCredential(definition: ConnectorDefinition, connectionType: string): ResolvedCredential {
  const [declared] = Object.entries((definition.credentialTypes ?? {}) as Record<string, unknown>);
  const usual = new Set(["username", "password", "token", "api_key"]);
  const schema = declared?.[1] as CredentialSchema | undefined;
  if (!declared || typeof schema?.shape !== "object") {
    const secrets = { password: canary("password"), token: canary("token"), api_key: canary("api-key") };
    return {
      id: 9001,
      name: "contract-credential",
      credentialType: connectionType,
      environment: "test",
      value: { username: "contract-user", ...secrets },
      secrets,
    };
  }
  const value: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const field of credentialFields(schema)) {
    if (!field.required && !usual.has(field.name)) continue;
    if (field.secret) value[field.name] = secrets[field.name] = canary(field.name.replace(/_/g, "-"));
    else if (field.type === "number") value[field.name] = 1;
    else if (field.type === "boolean") value[field.name] = false;
    else if (field.type === "enum") value[field.name] = field.options?.[0];
    else value[field.name] = field.name === "username" ? "contract-user" : `contract-${field.name}`;
  }
  return {
    id: 9001,
    name: "contract-credential",
    credentialType: declared[0],
    environment: "test",
    value,
    secrets,
  };
}

function defaultUnreachable(definition: ConnectorDefinition, port: number): ResolvedConnection {
  const [type = "api"] = definition.connectionTypes ?? [];
  const [connectionType, targetService = null] = type.split(":") as [string, string | undefined];
  return {
    id: 9001,
    name: "contract-unreachable",
    connectionType,
    targetHost: "127.0.0.1",
    targetPort: port,
    targetService,
    environment: "test",
    options: {},
    credential: contractCredential(definition, connectionType),
  };
}

/**
 * Registers the contract suite for `definition`: registration through core's registry, config
 * refusal, capabilities matching methods, one test per capability of its kind (skipped when not
 * declared), abort handling, error-code mapping and secret hygiene (errors, details, descriptions,
 * health results and every log line written through the connector's logger).
 *
 * @example
 * ```ts
 * import connector from "../src/index.js";
 * import { testConnector } from "@runwarden/connector-testkit";
 * testConnector(connector, { config: {} });
 * ```
 */
export function testConnector<K extends ConnectorKind, S extends z.ZodType>(
  definition: ConnectorDefinition<K, S>,
  options: ContractOptions<S>,
): void {
  const promptMs = options.promptMs ?? 2000;
  const healthTimeoutMs = options.healthTimeoutMs ?? 5000;
  const kind: ConnectorKind = definition.kind;
  const declared = new Set<string>(definition.capabilities);
  let harness: Harness | undefined;
  let refused: unknown;
  let unreachable: ResolvedConnection | undefined;

  const subject = (): Harness => {
    if (!harness) throw refused ?? new Error("the connector was not registered");
    return harness;
  };
  const connectionSecrets = (): string[] =>
    [options.connection, options.rejectedConnection, unreachable].flatMap((connection) =>
      Object.values(connection?.credential?.secrets ?? {}),
    );

  /** A test that checks one capability, skipped (saying so) when the connector does not declare it. */
  const capabilityTest = (capability: ConnectorCapability, title: string, body: () => Promise<void> | void) =>
    it(`${capability}: ${title}`, async (ctx: TestContext) => {
      if (!declared.has(capability))
        ctx.skip(`${definition.name} does not declare capability "${capability}"`);
      await body();
    });

  describe(`connector contract: ${kind} ${definition.name}`, () => {
    beforeAll(async () => {
      if (kind === "infrastructure" && options.unreachableConnection !== false)
        unreachable =
          options.unreachableConnection ??
          defaultUnreachable(definition as ConnectorDefinition, await closedPort());
      try {
        harness = await registerForContract(
          definition as ConnectorDefinition,
          options.config,
          options.secrets,
        );
      } catch (error) {
        refused = error;
      }
    });

    afterAll(async () => {
      await harness?.close();
    });

    describe("declaration", () => {
      it("registers through core's connector registry with the sample config", () => {
        subject();
      });

      it("refuses garbage configs", () => {
        checkRefusesGarbage(subject(), options.invalidConfigs);
      });

      it("declares a capability for every optional method it has, and has the method of each it declares", () => {
        checkCapabilitiesMatchMethods(subject());
      });

      it("describes its configuration and vendor set-up for the Connectors tab", async () => {
        checkConfigSchema(subject());
        checkVendorSetup(subject());
        await checkSampleWebhook(subject());
      });
    });

    describe("capabilities", () => {
      const ticket = options.ticket ?? sampleTicket(definition.name);
      for (const capability of capabilitiesOf(kind)) {
        if ((operationCapabilities as readonly string[]).includes(capability)) {
          const cap = capability as OperationCapability;
          capabilityTest(
            cap,
            "rejects promptly when aborted and fails with a connector code against a failing target",
            () =>
              checkOperation(
                subject(),
                cap,
                operationFor(cap, options.operations) ?? defaultOperation(cap, ticket),
                promptMs,
              ),
          );
        } else if (capability === "health-check") {
          capabilityTest(
            capability,
            "settles promptly, not ok with a reason, against a failing target or an aborted signal",
            async () => {
              if (kind === "infrastructure") {
                const target = options.connection ?? unreachable;
                if (!target)
                  throw new TypeError("give options.connection when unreachableConnection is false");
                await checkHealthAborted(subject(), target, promptMs);
                if (unreachable)
                  await checkHealthFailing(subject(), unreachable, { promptMs, timeoutMs: healthTimeoutMs });
              } else {
                await checkHealthFailing(subject(), undefined, { promptMs, timeoutMs: healthTimeoutMs });
              }
            },
          );
        } else if (capability === "describe") {
          if (kind === "infrastructure")
            capabilityTest(capability, "describes a request in one line", () => {
              const connections = [options.connection, unreachable].filter(
                (c): c is ResolvedConnection => !!c,
              );
              checkDescribe(subject(), options.request, connections);
            });
          else
            capabilityTest(capability, "describes each write in one line", () =>
              checkWriteDescribe(subject(), ticket),
            );
        } else if (capability === "stream-output" && options.connection) {
          const live = options.connection;
          capabilityTest(capability, "streams output whose chunks add up to the result", () =>
            checkStreamOutput(subject(), live, options.request),
          );
        } else if (capability === "timeout" && options.connection && options.slowRequest) {
          const live = options.connection;
          const slow = options.slowRequest;
          capabilityTest(capability, "ends a slow request at timeoutMs, timed out", () =>
            checkTimeout(subject(), live, slow, promptMs),
          );
        }
      }
    });

    if (kind === "infrastructure") {
      describe("abort and errors", () => {
        it("rejects open() promptly when the signal is already aborted", async () => {
          const target = options.connection ?? unreachable;
          if (!target) throw new TypeError("give options.connection when unreachableConnection is false");
          await checkOpenAborted(subject(), target, promptMs);
        });

        if (options.connection) {
          const live = options.connection;
          it(`rejects exec() promptly when its signal is aborted${options.slowRequest ? ", before or mid-call" : ""}`, () =>
            checkExecAbort(subject(), live, {
              request: options.request,
              slow: options.slowRequest,
              promptMs,
            }));

          it("runs the sample request on the live connection", () =>
            checkExecRuns(subject(), live, options.request));
        }

        if (options.unreachableConnection !== false) {
          it("maps an unreachable target to a connector error code", () =>
            checkUnreachable(subject(), unreachable!, options.request));
        }

        if (options.rejectedConnection) {
          const rejected = options.rejectedConnection;
          it("maps a refused credential to RW_ERR_CONNECTOR_AUTH", () =>
            checkRejectedCredential(subject(), rejected, options.request));
        }
      });
    }

    const extra = Object.entries(options.operations ?? {}).filter(
      ([name]) => name !== "pullChanges" && !(operationCapabilities as readonly string[]).includes(name),
    );
    for (const [name, operation] of extra) {
      describe(`operation ${name}`, () => {
        it("rejects promptly when aborted and fails with a connector code against a failing target", () =>
          checkOperation(subject(), name, operation, promptMs));
      });
    }

    describe("secret hygiene", () => {
      it("keeps every secret out of error messages, details, descriptions, health results and logs", () => {
        checkSecretHygiene(subject(), connectionSecrets());
      });
    });
  });
}

function operationFor(
  capability: OperationCapability,
  operations: Record<string, ContractOperation> | undefined,
): ContractOperation | undefined {
  return operations?.[capability] ?? (capability === "pull-changes" ? operations?.pullChanges : undefined);
}
