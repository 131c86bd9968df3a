import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WinrmConnection } from "../src/index.js";

export const USER = { username: "rwadmin", password: "Pa55-w0rd-winrm", domain: "CORP" };

/** A connection to the fake on 127.0.0.1:`port`. */
export function connection(
  port: number,
  options: Record<string, unknown> = { transport: "http" },
  credential: Partial<typeof USER> = {},
  name = "win-01",
): WinrmConnection {
  const value = { ...USER, ...credential };
  return {
    id: 1,
    name,
    connectionType: "winrm",
    targetHost: "127.0.0.1",
    targetPort: port,
    targetService: null,
    environment: "test",
    options,
    credential: {
      id: 1,
      name: `${name}-login`,
      credentialType: "winrm",
      environment: "test",
      value,
      secrets: { password: value.password },
    },
  };
}

/** A CA and a server certificate for 127.0.0.1 / localhost it signed (openssl CLI), in PEM. */
export function makeCertificates(): { ca: string; key: string; cert: string; otherCa: string } {
  const dir = mkdtempSync(join(tmpdir(), "rw-winrm-tls-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    for (const name of ["ca", "other"]) {
      run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=Runwarden test ${name}`,
      );
    }
    run(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    );
    writeSubjectAltName(dir);
    run(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    );
    const read = (file: string) => readFileSync(join(dir, file), "utf8");
    return {
      ca: read("ca.pem"),
      key: read("server.key"),
      cert: read("server.pem"),
      otherCa: read("other.pem"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeSubjectAltName(dir: string): void {
  execFileSync("sh", ["-c", "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf"], { cwd: dir });
}
