import type { ResolvedConnection } from "@runwarden/core";
import type { FakeGcp } from "./fake-gcp.js";

let nextId = 1;

/** A gcp connection to an instance of the fake, with the service-account key in the vault. */
export function gcpConnection(
  fake: FakeGcp,
  parts: { keyJson?: string; instance?: string; options?: Record<string, unknown> } = {},
): ResolvedConnection {
  const id = nextId++;
  const keyJson = parts.keyJson ?? fake.keyJson;
  return {
    id,
    name: `gce-${id}`,
    connectionType: "gcp",
    targetHost: parts.instance ?? "web-1",
    targetPort: null,
    targetService: null,
    environment: "test",
    options: { project: fake.project, zone: fake.zone, ...parts.options },
    credential: {
      id,
      name: `gcp-sa-${id}`,
      credentialType: "gcp_service_account",
      environment: "test",
      value: { key_json: keyJson },
      secrets: { key_json: keyJson },
    },
  };
}

/** The connector config pointing every endpoint at the fake. */
export function fakeConfig(fake: FakeGcp, extra: Record<string, unknown> = {}) {
  return {
    endpoints: {
      compute: `${fake.url}/compute/v1`,
      oslogin: `${fake.url}/oslogin/v1`,
      token: `${fake.url}/token`,
    },
    pollIntervalMs: 10,
    ...extra,
  };
}
