// Core's built-in local connector runs the contract suite like every other connector. It reaches
// nothing remote, so the unreachable-target checks do not apply; the live checks run real processes.
import { localConnector, type ResolvedConnection } from "@runwarden/core";
import { testConnector } from "../src/index.js";

const local: ResolvedConnection = {
  id: null,
  name: "local",
  connectionType: "local",
  targetHost: null,
  targetPort: null,
  targetService: null,
  environment: "test",
  options: {},
  // The local connector takes no credential; one attached by mistake must never show anywhere.
  credential: {
    id: 1,
    name: "stray",
    credentialType: "local",
    environment: "test",
    value: {},
    secrets: { password: `local-canary-${Math.random().toString(36).slice(2, 10)}` },
  },
};

testConnector(localConnector, {
  config: {},
  invalidConfigs: [{ killGraceMs: -1 }, { path: [""] }, { maxOutputChars: 10 }],
  connection: local,
  unreachableConnection: false,
  request: { command: "echo contract" },
  slowRequest: { command: "sleep 10" },
});
