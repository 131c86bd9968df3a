import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { kubernetesActions } from "../src/config.js";
import kubernetesConnector from "../src/index.js";
import { permissionsOf } from "../src/internal/health.js";

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

describe("kubernetesConnector.vendorSetup", () => {
  const steps = kubernetesConnector.vendorSetup!({
    webhookUrl: "https://rw.example/x",
    baseUrl: "https://rw.example",
  });
  const rules = steps
    .filter((s) => s.snippet?.language === "yaml")
    .flatMap((s) =>
      parseAllDocuments(s.snippet!.content).map((d) => d.toJSON() as { kind: string; rules?: Rule[] }),
    )
    .flatMap((doc) => doc.rules ?? []);

  it("grants every permission the health check asks for, for every action", () => {
    for (const action of kubernetesActions)
      for (const p of permissionsOf[action]) {
        const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
        expect(
          rules.some(
            (r) =>
              r.apiGroups.includes(p.group) && r.resources.includes(resource) && r.verbs.includes(p.verb),
          ),
          `${action}: ${p.verb} ${resource}`,
        ).toBe(true);
      }
  });

  it("ends with how to make the token the credential holds", () => {
    expect(steps.at(-1)?.snippet?.content).toContain("create token runwarden");
  });
});
