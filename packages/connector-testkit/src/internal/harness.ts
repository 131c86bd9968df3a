/**
 * The subject of every contract check: a connector registered through core's own registry (an
 * engine on the in-memory store, exactly as a host registers it), its live instance, and what the
 * checks saw — errors, descriptions and health results, and every log line — for the secret scan.
 */
import {
  type ConnectorDefinition,
  type ConnectorKind,
  createEngine,
  createMemoryStorage,
  type Engine,
  type InstanceOf,
  isRunwardenError,
  secretPaths,
} from "@runwarden/core";
import { captureLogger } from "./capture.js";
import { violation } from "./violation.js";

/** A registered connector under test and what its checks collected. */
export interface Harness<K extends ConnectorKind = ConnectorKind> {
  definition: ConnectorDefinition<K>;
  instance: InstanceOf[K];
  /** Every line the engine and the connector logged (pino JSON, level trace and up). */
  logs: string[];
  /** Errors the checks caught from the connector. */
  errors: unknown[];
  /** Descriptions and health results the connector produced. */
  texts: string[];
  /** Secret values that must never show: the config's `secret()` fields plus the extra ones. */
  secrets: Set<string>;
  close(): Promise<void>;
}

/**
 * Registers `definition` with `config` through core's connector registry (declaration, kind,
 * name, version, sdk range, capabilities, config, instance methods: whatever core refuses, the
 * contract refuses, with core's code and issues) and returns its instance.
 */
export async function registerForContract<K extends ConnectorKind>(
  definition: ConnectorDefinition<K>,
  config: unknown,
  extraSecrets: readonly string[] = [],
): Promise<Harness<K>> {
  const { logger, lines } = captureLogger();
  let engine: Engine;
  try {
    engine = await createEngine({
      storage: createMemoryStorage(),
      logger,
      connectors: [{ connector: definition as ConnectorDefinition, config }],
    });
  } catch (error) {
    const detail = isRunwardenError(error)
      ? `${error.code}: ${error.message}${issuesText(error.details)}`
      : String(error);
    violation("contract/registry", `core's connector registry refused the connector: ${detail}`);
  }
  const registry = engine.connectors;
  const kind = definition.kind as ConnectorKind;
  const instance =
    kind === "monitoring"
      ? registry.monitoring(definition.name)
      : kind === "ticketing"
        ? registry.ticketing(definition.name)
        : kind === "notifier"
          ? registry.notifier(definition.name)
          : registry.infrastructureFor(definition.connectionTypes?.[0] ?? definition.name);
  const secrets = new Set(extraSecrets);
  const parsed = definition.configSchema.safeParse(config);
  if (parsed.success)
    for (const value of valuesAt(parsed.data, secretPaths(definition.configSchema))) secrets.add(value);
  return {
    definition,
    instance: instance as InstanceOf[K],
    logs: lines,
    errors: [],
    texts: [],
    secrets,
    close: () => engine.close(),
  };
}

function issuesText(details: unknown): string {
  const issues = (details as { issues?: { path: string; message: string }[] } | undefined)?.issues;
  return issues ? ` (${issues.map((i) => `${i.path}: ${i.message}`).join("; ")})` : "";
}

/** The string values at dotted paths (`auth.token`, `hosts.*.key`) of a parsed config. */
function valuesAt(config: unknown, paths: readonly string[]): string[] {
  const values: string[] = [];
  const collect = (node: unknown, parts: readonly string[]): void => {
    if (node === undefined || node === null) return;
    if (parts.length === 0) {
      if (typeof node === "string") values.push(node);
      else if (typeof node === "object") for (const value of Object.values(node)) collect(value, []);
      return;
    }
    if (typeof node !== "object") return;
    const [head, ...rest] = parts as [string, ...string[]];
    if (head === "*") for (const value of Object.values(node)) collect(value, rest);
    else collect((node as Record<string, unknown>)[head], rest);
  };
  for (const path of paths) collect(config, path.split("."));
  return values;
}
