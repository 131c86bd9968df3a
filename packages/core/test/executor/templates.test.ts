import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeShellTemplate } from "@runwarden/runbook-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ticket } from "../../src/domain.js";
import { controlCharacters, renderCommand, shellQuote } from "../../src/executor/templates.js";

const ticket: Ticket = {
  id: 42,
  version: 1,
  title: "Disk full",
  description: "it's full",
  severity: "high",
  environment: "prod",
  service: "nginx",
  source: "prometheus",
  externalId: null,
  fingerprint: "fp",
  status: "analyzed",
  occurrences: 2,
  metaData: { region: "eu-west-1", hosts: ["a", "b"], port: 8080, nested: { deep: "x" } },
  receivedAt: "2030-01-01T00:00:00.000Z",
  lastSeenAt: "2030-01-01T00:00:00.000Z",
  updatedAt: "2030-01-01T00:00:00.000Z",
  analysis: null,
  statusReason: null,
};
const scope = (fields: Partial<Ticket> = {}, vars: Record<string, string> = { unit: "nginx.service" }) => ({
  ticket: { ...ticket, ...fields },
  vars,
});
/** What `sh` makes of a rendered `set -- …` command: the positional arguments it sets. */
function argsOf(rendered: string): string[] {
  const out = spawnSync("/bin/sh", ["-c", `${rendered}; for a in "$@"; do printf '%s\\0' "$a"; done`], {
    encoding: "utf8",
  });
  return out.stdout.split("\0").slice(0, -1);
}

describe("renderCommand", () => {
  it("quotes each ticket value as exactly one shell argument", () => {
    expect(renderCommand("systemctl restart {{ticket.service}}", "sh", scope()).command).toBe(
      "systemctl restart 'nginx'",
    );
    expect(renderCommand("echo {{ ticket.description }}", "sh", scope()).command).toBe(
      `echo 'it'\\''s full'`,
    );
  });

  it("reads nested metaData, array items, numbers and runbook variables", () => {
    const r = renderCommand(
      "x {{ticket.metaData.region}} {{ticket.meta_data.hosts[1]}} {{ticket.metaData.port}} {{vars.unit}} {{ticket.id}}",
      "sh",
      scope(),
    );
    expect(r.command).toBe("x 'eu-west-1' 'b' '8080' 'nginx.service' '42'");
  });

  it("runs none of the shell syntax a hostile value holds", () => {
    const hostile = [
      "; rm -rf /",
      "$(touch /tmp/x)",
      "`id`",
      "a'b\"c",
      "$HOME",
      "*",
      "~root",
      "-rf /",
      "a\\",
      "' ; echo '",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
      "${IFS}",
    ];
    for (const value of hostile) {
      expect(
        argsOf(renderCommand("set -- {{ticket.service}}", "sh", scope({ service: value })).command),
        value,
      ).toEqual([value]);
    }
  });

  it("keeps any value without control characters one exact argument (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }).filter((s) => !controlCharacters.test(s)),
        (value) => {
          expect(
            argsOf(renderCommand("set -- {{ticket.service}}", "sh", scope({ service: value })).command),
          ).toEqual([value]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("escapes for the quotes a value lands in", () => {
    const value = `it's "$(id)" \`x\` \\`;
    const single = renderCommand("printf %s '<{{ticket.service}}>'", "sh", scope({ service: value })).command;
    const double = renderCommand(`printf %s "<{{ticket.service}}>"`, "sh", scope({ service: value })).command;
    for (const rendered of [single, double]) {
      expect(spawnSync("/bin/sh", ["-c", rendered], { encoding: "utf8" }).stdout).toBe(`<${value}>`);
    }
  });

  it("follows command substitutions and comments when choosing the quoting", () => {
    const value = "a b'c";
    const rendered = renderCommand(
      `printf %s "$(printf %s {{ticket.service}})" # don't`,
      "sh",
      scope({ service: value }),
    ).command;
    expect(spawnSync("/bin/sh", ["-c", rendered], { encoding: "utf8" }).stdout).toBe(value);
  });

  it("refuses contexts where no quoting is sound", () => {
    for (const command of [
      "echo `echo {{ticket.service}}`",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
      "echo ${X:-{{ticket.service}}}",
      "cat <<EOF\n{{ticket.service}}\nEOF",
      "echo $'{{ticket.service}}'",
    ]) {
      expect(() => renderCommand(command, "sh", scope()), command).toThrow(
        expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }),
      );
    }
  });

  it("refuses a placeholder inside arithmetic expansion, so the issue 13 exploit runs nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-arith-"));
    const marker = join(dir, "pwned");
    const n = `a[$(touch ${marker})]`;
    const ticketWith = scope({ metaData: { n } });
    let caught: { code?: string; message: string; details?: unknown } | undefined;
    try {
      const rendered = renderCommand("echo $(( {{ticket.meta_data.n}} + 1 ))", "sh", ticketWith).command;
      for (const shell of ["/bin/sh", "bash"]) spawnSync(shell, ["-c", rendered]);
    } catch (err) {
      caught = err as typeof caught;
    }
    try {
      expect(existsSync(marker)).toBe(false);
      expect(caught?.code).toBe("RW_ERR_EXEC_TEMPLATE");
      expect(caught?.message).toContain("{{ticket.meta_data.n}} sits in an arithmetic context");
      expect(JSON.stringify(caught?.details) + caught?.message).not.toContain(marker);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses every context the shell-context analyser refuses, and only those", () => {
    const commands = [
      "echo {{ticket.service}} '{{ticket.service}}' \"{{ticket.service}}\"",
      "(( {{ticket.service}} ))",
      "[[ $x == {{ticket.service}} ]]",
      "sudo -u app bash -c {{ticket.service}}",
      "X={{ticket.service}} ./fix.sh",
      "{{ticket.service}} --now",
      "cat > {{ticket.service}}",
      "echo $[ {{ticket.service}} ]",
      "let x={{ticket.service}}",
    ];
    for (const command of commands) {
      const allowed = analyzeShellTemplate(command).placeholders.every((p) => p.allowed);
      const render = () => renderCommand(command, "sh", scope());
      if (allowed) expect(render, command).not.toThrow();
      else expect(render, command).toThrow(expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }));
    }
  });

  it("refuses a value starting with - where it begins an argument, unless -- precedes it", () => {
    const dash = scope({ service: "-rf" });
    for (const command of ["rm {{ticket.service}}", "rm '{{ticket.service}}'", 'rm "{{ticket.service}}"']) {
      let caught: { code?: string; message: string; details?: unknown } | undefined;
      try {
        renderCommand(command, "sh", dash);
      } catch (err) {
        caught = err as typeof caught;
      }
      expect(caught?.code, command).toBe("RW_ERR_EXEC_TEMPLATE");
      expect(caught?.message).toContain('{{ticket.service}} starts with "-"');
      expect(caught?.message).toContain("rm -- {{ticket.service}}");
      expect(caught?.details).toMatchObject({ reason: "option" });
    }
    expect(renderCommand("rm -- {{ticket.service}}", "sh", dash).command).toBe("rm -- '-rf'");
    expect(renderCommand("grep --regexp={{ticket.service}} f", "sh", dash).command).toBe(
      "grep --regexp='-rf' f",
    );
    expect(renderCommand("ls x{{ticket.service}}", "sh", dash).command).toBe("ls x'-rf'");
  });

  it("refuses a value with a control character, naming the field but not the value", () => {
    for (const service of ["nginx\nrm -rf /", "a\rb", "tab\there", "nul\u0000", "sep\u2028"]) {
      let caught: { code?: string; message: string; details?: unknown } | undefined;
      try {
        renderCommand("restart {{ticket.service}}", "sh", scope({ service }));
      } catch (err) {
        caught = err as typeof caught;
      }
      expect(caught?.code).toBe("RW_ERR_EXEC_TEMPLATE");
      expect(caught?.message).toContain("ticket.service");
      expect(JSON.stringify(caught?.details) + caught?.message).not.toContain(service);
    }
  });

  it("refuses unknown fields, objects and empty values", () => {
    for (const ref of [
      "ticket.nope",
      "secrets.x",
      "vars.missing",
      "ticket.metaData",
      "ticket.externalId",
      "ticket.metaData.hosts[9]",
    ]) {
      expect(() => renderCommand(`echo {{${ref}}}`, "sh", scope()), ref).toThrow(
        expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }),
      );
    }
  });

  it("binds values as SQL parameters and refuses them inside SQL quotes", () => {
    const r = renderCommand(
      "SELECT * FROM jobs WHERE service = {{ticket.service}} AND id > {{ticket.id}}",
      "sql",
      scope({ service: "x'; DROP TABLE jobs; --" }),
    );
    expect(r.sql).toEqual({
      parts: ["SELECT * FROM jobs WHERE service = ", " AND id > ", ""],
      values: ["x'; DROP TABLE jobs; --", "42"],
    });
    expect(r.command).toBe("SELECT * FROM jobs WHERE service = 'x''; DROP TABLE jobs; --' AND id > '42'");
    for (const command of [
      "SELECT '{{ticket.service}}'",
      'SELECT "{{ticket.service}}"',
      "SELECT 1 -- {{ticket.service}}",
      "SELECT $$ {{ticket.service}} $$",
    ]) {
      expect(() => renderCommand(command, "sql", scope()), command).toThrow(
        expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }),
      );
    }
  });

  it("URL-encodes values in HTTP steps", () => {
    const r = renderCommand(
      "POST https://api.example.com/services/{{ticket.service}}/restart?why={{ticket.title}}",
      "http",
      scope({ service: "../admin?x=1&y", title: "a b#c" }),
    );
    expect(r.command).toBe(
      "POST https://api.example.com/services/..%2Fadmin%3Fx%3D1%26y/restart?why=a%20b%23c",
    );
  });

  it("quotes PowerShell values verbatim and refuses languages it cannot quote for", () => {
    expect(
      renderCommand("Restart-Service -Name {{ticket.service}}", "powershell", scope({ service: "a'b$(x)" }))
        .command,
    ).toBe("Restart-Service -Name 'a''b$(x)'");
    expect(() => renderCommand("print({{ticket.service}})", "python", scope())).toThrow(
      expect.objectContaining({ code: "RW_ERR_EXEC_TEMPLATE" }),
    );
    expect(renderCommand("print('no templates')", "python", scope()).command).toBe("print('no templates')");
  });
});

describe("shellQuote", () => {
  it("single-quotes and escapes embedded single quotes", () => {
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});
