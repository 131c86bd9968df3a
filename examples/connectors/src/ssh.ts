/**
 * The SSH connector: run a runbook's shell steps on a host over SSH, host key pinned.
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/ssh.ts
 *
 * Environment: RW_SSH_HOST, RW_SSH_PORT (22), RW_SSH_USER, RW_SSH_HOST_KEY_FINGERPRINT
 * (`SHA256:…`), and RW_SSH_KEY (path of a private key) or RW_SSH_PASSWORD. The file
 * scripts/services/sshd.sh writes (/tmp/runwarden-sshd/env) sets all of them.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import ssh from "@runwarden/connector-ssh";
import { createEngine } from "@runwarden/core";
import { env, operator, runExample } from "./run-example.js";

const engine = await createEngine({
  connectors: [{ connector: ssh, config: { pool: { maxConnectionsPerTarget: 2 } } }],
  // The memory store is gone when the script exits, so a throwaway vault key is enough here.
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const keyPath = process.env.RW_SSH_KEY;
const credential = await engine.credentials.create(
  {
    name: "example-ssh",
    credentialType: "ssh",
    environment: "example",
    username: env("RW_SSH_USER"),
    // Secret fields (private_key, passphrase, password) are sealed by the vault.
    ...(keyPath ? { private_key: readFileSync(keyPath, "utf8") } : { password: env("RW_SSH_PASSWORD") }),
  },
  { actor: operator },
);
await engine.connections.create(
  {
    name: "example-host",
    connectionType: "ssh",
    credentialId: credential.id,
    targetHost: env("RW_SSH_HOST"),
    targetPort: Number(env("RW_SSH_PORT", "22")),
    environment: "example",
    // From `ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_ed25519_key.pub` on the host.
    options: { host_key_fingerprint: env("RW_SSH_HOST_KEY_FINGERPRINT") },
  },
  { actor: operator },
);

await runExample(
  engine,
  `---
connection: example-host
---
# Restart a stuck worker

## Prechecks
- \`echo "$(whoami)@$(hostname): $(uname -sr)"\` (name: who-and-where, severity: safe)

## Main Steps
\`\`\`sh {name=restart-worker requires_approval=true severity=medium_risk}
echo "would run: systemctl restart" {{ticket.service}}
\`\`\`

## Postchecks
- \`test -w /tmp && echo tmp writable\` (name: tmp-writable, severity: safe, expect_output: writable)
`,
  { title: "worker stuck", service: "billing-worker", environment: "example", severity: "high" },
);
