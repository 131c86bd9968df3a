/**
 * Cross-checks the fake WS-Management listener with an independent client: Debian's pywinrm
 * (python3-winrm 0.3, with requests-ntlm and ntlm-auth), installed by
 * scripts/services/winrm-client.sh. If pywinrm can authenticate, seal, run cmd and PowerShell
 * commands and read their output and exit codes, the fake speaks the protocol, not just the dialect
 * of our own client.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeWsman, startFakeWsman } from "./fake-wsman.js";
import { makeCertificates, USER } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const dir = mkdtempSync(join(tmpdir(), "rw-pywinrm-"));
// Debian 12's ntlm-auth hashes the password with hashlib's MD4, which OpenSSL 3 keeps in its
// legacy provider: enable it for the client process only (what a Debian user of pywinrm does).
const opensslConf = join(dir, "openssl.cnf");
writeFileSync(
  opensslConf,
  [
    "openssl_conf = openssl_init",
    "[openssl_init]",
    "providers = provider_sect",
    "[provider_sect]",
    "default = default_sect",
    "legacy = legacy_sect",
    "[default_sect]",
    "activate = 1",
    "[legacy_sect]",
    "activate = 1",
    "",
  ].join("\n"),
);

const SCRIPT = `
import base64, json, sys, winrm
from winrm.exceptions import InvalidCredentialsError
args = json.loads(sys.argv[1])
out = {}
session = winrm.Session(args["endpoint"], auth=(args["user"], args["password"]), **args["options"])
try:
    r = session.run_cmd("echo", ["hello from pywinrm"])
    out["cmd"] = {"code": r.status_code, "out": r.std_out.decode(), "err": r.std_err.decode()}
    # Session.run_ps, minus its stderr clean-up (which fails on Python 3 in pywinrm 0.3.0 when
    # stderr is not empty): the script goes as powershell -encodedcommand, UTF-16LE base64.
    script = "printf 'ps ok\\\\n'; printf 'oops\\\\n' >&2; exit 4"
    r = session.run_cmd("powershell -encodedcommand " + base64.b64encode(script.encode("utf_16_le")).decode("ascii"))
    out["ps"] = {"code": r.status_code, "out": r.std_out.decode(), "err": r.std_err.decode()}
except InvalidCredentialsError as e:
    out["error"] = "InvalidCredentialsError"
print(json.dumps(out))
`;

function pywinrm(
  args: Record<string, unknown>,
): Promise<Record<string, { code: number; out: string; err: string } | string>> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ["-c", SCRIPT, JSON.stringify(args)],
      { env: { PATH: "/usr/bin:/bin", OPENSSL_CONF: opensslConf, NO_PROXY: "*" }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`pywinrm failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

let fake: FakeWsman;
let tls: FakeWsman;
let ca: string;

beforeAll(async () => {
  const check = await new Promise<boolean>((resolve) =>
    execFile(PYTHON, ["-c", "import winrm"], (e) => resolve(!e)),
  );
  if (!check)
    throw new Error("python3-winrm is not installed: run scripts/services/winrm-client.sh (or start-all.sh)");
  fake = await startFakeWsman({ auth: "ntlm", user: USER });
  const certs = makeCertificates();
  ca = join(dir, "ca.pem");
  writeFileSync(ca, certs.ca);
  tls = await startFakeWsman({ auth: "basic", user: USER, tls: { key: certs.key, cert: certs.cert } });
});

afterAll(async () => {
  await fake?.close();
  await tls?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Debian's pywinrm against the fake WS-Management listener", () => {
  it("authenticates with NTLM, seals every message over HTTP, and runs cmd and PowerShell commands", async () => {
    const result = await pywinrm({
      endpoint: `http://127.0.0.1:${fake.port}/wsman`,
      user: `${USER.domain}\\${USER.username}`,
      password: USER.password,
      options: { transport: "ntlm", message_encryption: "always" },
    });
    expect(result.cmd).toEqual({ code: 0, out: "hello from pywinrm\n", err: "" });
    expect(result.ps).toEqual({ code: 4, out: "ps ok\n", err: "oops\n" });
    expect(fake.log.handshakes).toBe(1);
    expect(fake.log.rejected).toEqual([]);
    // pywinrm deleted both shells it created, and signalled each command.
    expect(fake.log.shellsCreated).toBe(2);
    expect(fake.log.shellsDeleted).toBe(2);
    expect(fake.log.signals).toBe(2);
  });

  it("is refused with a wrong password", async () => {
    const result = await pywinrm({
      endpoint: `http://127.0.0.1:${fake.port}/wsman`,
      user: `${USER.domain}\\${USER.username}`,
      password: "not-the-password",
      options: { transport: "ntlm", message_encryption: "always" },
    });
    expect(result.error).toBe("InvalidCredentialsError");
  });

  it("runs commands with Basic over HTTPS, validating the listener's certificate against a CA", async () => {
    const result = await pywinrm({
      endpoint: `https://localhost:${tls.port}/wsman`,
      user: USER.username,
      password: USER.password,
      options: { transport: "basic", server_cert_validation: "validate", ca_trust_path: ca },
    });
    expect(result.cmd).toEqual({ code: 0, out: "hello from pywinrm\n", err: "" });
    expect(result.ps).toMatchObject({ code: 4, out: "ps ok\n" });
  });
});
