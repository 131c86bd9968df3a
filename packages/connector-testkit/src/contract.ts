/**
 * `testConnector(definition, options)`: the contract suite every connector runs, first- or
 * third-party. It registers vitest `describe`/`it` blocks, so a connector's test file is one call.
 */
import {
  type ConnectorContext,
  type ConnectorDefinition,
  type CredentialSchema,
  credentialFields,
  type ExecRequest,
  type InfrastructureConnector,
  isRunwardenError,
  type ResolvedConnection,
  type ResolvedCredential,
} from "@runwarden/core";
import semver from "semver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { captureLogger, closedPort, errorText, type Settled, settleWithin } from "./internal/capture.js";

/** An operation of a monitoring or ticketing connector, exercised against a failing target. */
export type ContractOperation = (instance: unknown, options: { signal: AbortSignal }) => Promise<unknown>;

/** What the contract suite needs to know about a connector. */
export interface ContractOptions<S extends z.ZodType = z.ZodType> {
  /** A config that must parse (the suite creates the instance with it). */
  config: z.input<S>;
  /** More configs that must be refused, besides the built-in garbage (a string, a number, null…). */
  invalidConfigs?: readonly unknown[];
  /**
   * Infrastructure: a connection to a live target with working credentials (a fake server, the
   * test sshd…). Enables the checks that need an open handle.
   */
  connection?: ResolvedConnection;
  /** Infrastructure: a request that succeeds quickly on `connection` (default `true` in sh). */
  request?: Partial<ExecRequest>;
  /** Infrastructure: a request that runs for seconds on `connection`, to abort mid-flight. */
  slowRequest?: Partial<ExecRequest>;
  /**
   * Infrastructure: a connection whose target answers but refuses the credential; it must fail
   * with RW_ERR_CONNECTOR_AUTH and never echo the secret.
   */
  rejectedConnection?: ResolvedConnection;
  /**
   * Infrastructure: a connection nothing answers on. Default: 127.0.0.1 on a closed port, the
   * connector's first connection type, a credential holding canary secrets.
   */
  unreachableConnection?: ResolvedConnection;
  /** Monitoring and ticketing: operations to run against a failing target (see ContractOperation). */
  operations?: Record<string, ContractOperation>;
  /** Secret values that must never show in errors, descriptions or logs (credential secrets are added). */
  secrets?: readonly string[];
  /** How long an aborted call may take to settle, in ms. Default 2000. */
  promptMs?: number;
}

const KINDS = ["monitoring", "ticketing", "infrastructure"] as const;
const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const CONNECTOR_CODES = [
  "RW_ERR_CONNECTOR_UNREACHABLE",
  "RW_ERR_CONNECTOR_AUTH",
  "RW_ERR_CONNECTOR_TIMEOUT",
  "RW_ERR_CONNECTOR_NOT_FOUND",
  "RW_ERR_CONNECTOR_CONFLICT",
  "RW_ERR_CONNECTOR_RATE_LIMITED",
  "RW_ERR_CONNECTOR_REJECTED",
];
const GARBAGE: readonly unknown[] = ["not a config", 42, true, null, [], () => {}];

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

function request(base: Partial<ExecRequest> | undefined, signal: AbortSignal): ExecRequest {
  return { command: "true", language: "sh", readOnly: false, ...base, signal };
}

function expectPrompt(outcome: Settled, promptMs: number): void {
  expect(outcome.state, `still pending after ${promptMs} ms`).not.toBe("pending");
  expect(outcome.ms).toBeLessThan(promptMs);
}

function expectConnectorError(error: unknown): void {
  expect(isRunwardenError(error), `expected a RunwardenError, got ${String(error)}`).toBe(true);
  expect(CONNECTOR_CODES).toContain((error as { code: string }).code);
}

/**
 * Registers the contract suite for `definition`: declaration and schema checks, instance shape,
 * abort handling, error-code mapping and secret hygiene (errors, details, descriptions and every
 * log line written through the context's pino logger).
 *
 * @example
 * ```ts
 * import connector from "../src/index.js";
 * import { testConnector } from "@runwarden/connector-testkit";
 * testConnector(connector, { config: {} });
 * ```
 */
export function testConnector<S extends z.ZodType>(
  definition: ConnectorDefinition<(typeof KINDS)[number], S>,
  options: ContractOptions<S>,
): void {
  const promptMs = options.promptMs ?? 2000;
  const logs = captureLogger();
  const errors: unknown[] = [];
  const texts: string[] = [];
  let instance: unknown;
  let unreachable: ResolvedConnection;

  const secrets = (): string[] => {
    const found = new Set(options.secrets ?? []);
    for (const connection of [options.connection, options.rejectedConnection, unreachable]) {
      for (const value of Object.values(connection?.credential?.secrets ?? {})) found.add(value);
    }
    return [...found].filter((value) => value.length >= 4);
  };

  describe(`connector contract: ${definition.kind} ${definition.name}`, () => {
    beforeAll(async () => {
      unreachable = options.unreachableConnection ?? defaultUnreachable(definition, await closedPort());
      const ctx: ConnectorContext = {
        logger: logs.logger.child({ connector: definition.name }),
        signal: new AbortController().signal,
        dryRun: false,
        now: () => new Date(),
      };
      instance = await definition.create(definition.configSchema.parse(options.config), ctx);
    });

    afterAll(async () => {
      await (instance as { close?: () => Promise<void> } | undefined)?.close?.();
    });

    describe("declaration", () => {
      it("has a known kind, a kebab-case name, a semver version and a valid sdk range", () => {
        expect(KINDS).toContain(definition.kind);
        expect(definition.name).toMatch(KEBAB);
        expect(semver.valid(definition.version), `version ${definition.version}`).not.toBeNull();
        expect(semver.validRange(definition.sdk), `sdk ${definition.sdk}`).not.toBeNull();
        expect(typeof definition.create).toBe("function");
      });

      it("declares its capabilities as kebab-case names", () => {
        expect(Array.isArray(definition.capabilities)).toBe(true);
        for (const capability of definition.capabilities) expect(capability).toMatch(KEBAB);
      });

      if (definition.kind === "infrastructure") {
        it("declares the connection types it serves", () => {
          expect(definition.connectionTypes?.length ?? 0).toBeGreaterThan(0);
          for (const type of definition.connectionTypes ?? [])
            expect(type).toMatch(/^[a-z][a-z0-9-]*(?::[a-z0-9-]+)?$/);
        });
      }

      it("parses the sample config", () => {
        const parsed = definition.configSchema.safeParse(options.config);
        expect(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues)).toBe(true);
      });

      it("refuses garbage configs", () => {
        for (const garbage of [...GARBAGE, ...(options.invalidConfigs ?? [])]) {
          expect(definition.configSchema.safeParse(garbage).success, `accepted ${String(garbage)}`).toBe(
            false,
          );
        }
      });
    });

    describe("instance", () => {
      it(`creates a ${definition.kind} instance from the sample config`, () => {
        expect(typeof instance).toBe("object");
        const methods =
          definition.kind === "infrastructure"
            ? ["open", "healthCheck"]
            : definition.kind === "ticketing"
              ? ["create", "update", "comment"]
              : [];
        for (const method of methods)
          expect(typeof (instance as Record<string, unknown>)[method]).toBe("function");
      });
    });

    if (definition.kind === "infrastructure") registerInfrastructure();
    else registerOperations();

    describe("secret hygiene", () => {
      it("keeps every secret out of error messages, details, descriptions and logs", () => {
        const values = secrets();
        expect(values.length).toBeGreaterThan(0);
        const haystacks = [...errors.map(errorText), ...texts, ...logs.lines];
        for (const value of values) {
          for (const text of haystacks)
            expect(text.includes(value), `a secret leaked into: ${text}`).toBe(false);
        }
      });
    });
  });

  function infra(): InfrastructureConnector {
    return instance as InfrastructureConnector;
  }

  async function attempt(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (error) {
      errors.push(error);
      return error;
    }
    return undefined;
  }

  function registerInfrastructure(): void {
    describe("describe()", () => {
      it("describes a request in one line without secrets, when the connector can describe", () => {
        const describeFn = infra().describe?.bind(infra());
        if (!describeFn) return;
        for (const connection of [options.connection ?? unreachable, unreachable]) {
          const line = describeFn(request(options.request, new AbortController().signal), connection);
          expect(typeof line).toBe("string");
          expect(line.length).toBeGreaterThan(0);
          expect(line).not.toMatch(/[\r\n]/);
          texts.push(line);
        }
      });
    });

    describe("abort", () => {
      it("rejects open() promptly when the signal is already aborted", async () => {
        const target = options.connection ?? unreachable;
        const outcome = await settleWithin(infra().open(target, { signal: AbortSignal.abort() }), promptMs);
        expectPrompt(outcome, promptMs);
        expect(outcome.state).toBe("rejected");
        if (outcome.state === "rejected") errors.push(outcome.error);
      });

      it("settles healthCheck() promptly, not ok, when the signal is already aborted", async () => {
        const target = options.connection ?? unreachable;
        const outcome = await settleWithin(
          infra().healthCheck(target, { signal: AbortSignal.abort() }),
          promptMs,
        );
        expectPrompt(outcome, promptMs);
        if (outcome.state === "resolved") expect((outcome.value as { ok: boolean }).ok).toBe(false);
        else if (outcome.state === "rejected") errors.push(outcome.error);
      });

      if (options.connection) {
        const live = options.connection;
        it("rejects exec() promptly when the signal is already aborted", async () => {
          const handle = await infra().open(live, { signal: new AbortController().signal });
          try {
            const outcome = await settleWithin(
              handle.exec(request(options.request, AbortSignal.abort())),
              promptMs,
            );
            expectPrompt(outcome, promptMs);
            expect(outcome.state).toBe("rejected");
            if (outcome.state === "rejected") errors.push(outcome.error);
          } finally {
            await handle.release();
          }
        });

        if (options.slowRequest) {
          const slow = options.slowRequest;
          it("rejects exec() promptly when the signal aborts mid-call", async () => {
            const handle = await infra().open(live, { signal: new AbortController().signal });
            try {
              const controller = new AbortController();
              const running = handle.exec(request(slow, controller.signal));
              await new Promise((resolve) => setTimeout(resolve, 200));
              controller.abort();
              const outcome = await settleWithin(running, promptMs);
              expectPrompt(outcome, promptMs);
              expect(outcome.state).toBe("rejected");
              if (outcome.state === "rejected") {
                expectConnectorError(outcome.error);
                errors.push(outcome.error);
              }
            } finally {
              await handle.release();
            }
          });
        }

        it("runs the sample request on the live connection", async () => {
          const handle = await infra().open(live, { signal: new AbortController().signal });
          try {
            const result = await handle.exec(request(options.request, new AbortController().signal));
            expect(typeof result.stdout).toBe("string");
            expect(typeof result.stderr).toBe("string");
            expect(result.exitCode === null || Number.isInteger(result.exitCode)).toBe(true);
          } finally {
            await handle.release();
          }
        });
      }
    });

    describe("errors", () => {
      it("maps an unreachable target to a connector error code", async () => {
        const error = await attempt(async () => {
          const handle = await infra().open(unreachable, { signal: AbortSignal.timeout(10_000) });
          try {
            await handle.exec(request(options.request, AbortSignal.timeout(10_000)));
          } finally {
            await handle.release();
          }
        });
        expectConnectorError(error);
      });

      it("reports an unreachable target as not ok, with a reason, from healthCheck()", async () => {
        const health = await infra().healthCheck(unreachable, { signal: AbortSignal.timeout(10_000) });
        expect(health.ok).toBe(false);
        expect(health.reason).toBeTruthy();
        expect(health.latencyMs).toBeGreaterThanOrEqual(0);
        texts.push(JSON.stringify(health));
      });

      if (options.rejectedConnection) {
        const rejected = options.rejectedConnection;
        it("maps a refused credential to RW_ERR_CONNECTOR_AUTH", async () => {
          const error = await attempt(async () => {
            const handle = await infra().open(rejected, { signal: AbortSignal.timeout(10_000) });
            try {
              await handle.exec(request(options.request, AbortSignal.timeout(10_000)));
            } finally {
              await handle.release();
            }
          });
          expectConnectorError(error);
          expect((error as { code: string }).code).toBe("RW_ERR_CONNECTOR_AUTH");
        });
      }
    });
  }

  function registerOperations(): void {
    for (const [name, operation] of Object.entries(options.operations ?? {})) {
      describe(`operation ${name}`, () => {
        it("rejects promptly when the signal is already aborted", async () => {
          const outcome = await settleWithin(operation(instance, { signal: AbortSignal.abort() }), promptMs);
          expectPrompt(outcome, promptMs);
          expect(outcome.state).toBe("rejected");
          if (outcome.state === "rejected") errors.push(outcome.error);
        });

        it("fails with a connector error code against a failing target", async () => {
          const error = await attempt(() => operation(instance, { signal: AbortSignal.timeout(10_000) }));
          expectConnectorError(error);
        });
      });
    }
  }
}
