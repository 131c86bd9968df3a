/**
 * Connectors every engine registers before the host's own: the built-in `local` infrastructure
 * connector (it lives with the executor; the registry does not import the executor otherwise).
 * A host registration with the same kind and name replaces the built-in one, so a host can
 * configure it: `createEngine({ connectors: [{ connector: localConnector, config }] })`.
 */
import { localConnector } from "../executor/local.js";
import type { ConnectorRegistration } from "../plugin.js";

export const builtInConnectors: readonly ConnectorRegistration[] = [
  // Where steps run on the engine's own host is the host's decision: never configurable through the API.
  { connector: localConnector, configuredBy: "core (built in)" },
];
