/** contract/config-refused and contract/capability-method. */
import { type ConnectorCapability, type ConnectorKind, capabilitiesOf } from "@runwarden/core";
import type { Harness } from "../harness.js";
import { violation } from "../violation.js";
import { describeValue } from "./shared.js";

const garbage: readonly unknown[] = ["not a config", 42, true, null, [], () => {}];

/** The method each capability stands for; declaring one means having the other, and back. */
export const capabilityMethods: Partial<Record<ConnectorCapability, readonly string[]>> = {
  webhook: ["parseWebhook"],
  "verify-webhook": ["verifyWebhook"],
  pull: ["pull"],
  acknowledge: ["acknowledge"],
  resolve: ["resolve"],
  note: ["note"],
  create: ["create"],
  update: ["update"],
  comment: ["comment"],
  "pull-changes": ["pullChanges"],
  "health-check": ["healthCheck"],
  describe: ["describe"],
};

/** contract/config-refused: the config schema refuses garbage and the connector's own bad configs. */
export function checkRefusesGarbage(h: Harness, invalid: readonly unknown[] = []): void {
  for (const config of [...garbage, ...invalid]) {
    if (h.definition.configSchema.safeParse(config).success)
      violation("contract/config-refused", `the config schema accepted ${describeValue(config)}`);
  }
}

/**
 * contract/capability-method: every declared capability has its method, and every optional method
 * the instance has is declared as its capability (an undeclared one would never be checked).
 */
export function checkCapabilitiesMatchMethods(h: Harness): void {
  const instance = h.instance as unknown as Record<string, unknown>;
  const declared = new Set<string>(h.definition.capabilities);
  for (const capability of capabilitiesOf(h.definition.kind as ConnectorKind)) {
    const methods = capabilityMethods[capability];
    if (!methods) continue;
    const present = methods.filter((m) => typeof instance[m] === "function");
    if (declared.has(capability) && present.length === 0)
      violation(
        "contract/capability-method",
        `declares capability "${capability}" but the instance has no ${methods.join(" or ")}()`,
      );
    if (!declared.has(capability) && present.length > 0)
      violation(
        "contract/capability-method",
        `has ${present.join(", ")}() but does not declare capability "${capability}"`,
      );
  }
}
