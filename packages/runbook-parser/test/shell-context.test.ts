import { describe, expect, it } from "vitest";
import { analyzeShellTemplate, type ShellContext } from "../src/shell-context.js";

/** The context and verdict of each placeholder, in order. */
function contexts(command: string): [string, ShellContext, boolean][] {
  return analyzeShellTemplate(command).placeholders.map((p) => [p.name, p.context, p.allowed]);
}

/** The one placeholder `{{x}}` of a command: its context, and whether it is accepted. */
function only(command: string): [ShellContext, boolean] {
  const found = analyzeShellTemplate(command).placeholders.filter((p) => p.name === "x");
  expect(found, command).toHaveLength(1);
  return [found[0]!.context, found[0]!.allowed];
}

describe("analyzeShellTemplate: accepted contexts", () => {
  it("accepts a placeholder that is a whole argument", () => {
    expect(only("systemctl restart {{x}}")).toEqual(["argument", true]);
  });

  it("accepts a placeholder that is part of an argument", () => {
    expect(only("curl --url=https://example.com/{{x}}/health")).toEqual(["argument", true]);
  });

  it("accepts a placeholder inside single quotes in an argument", () => {
    expect(only("logger 'restarting {{x}} now'")).toEqual(["single-quoted", true]);
  });

  it("accepts a placeholder inside double quotes in an argument", () => {
    expect(only('logger "restarting {{x}} in $ENV"')).toEqual(["double-quoted", true]);
  });

  it("accepts arguments after ;, &&, ||, | and & and on later lines", () => {
    const all = analyzeShellTemplate(
      "true; echo {{a}} && echo {{b}} || echo {{c}} | grep {{d}} & echo {{e}}\necho {{f}}",
    ).placeholders;
    expect(all.map((p) => [p.context, p.allowed])).toEqual(Array(6).fill(["argument", true]));
  });

  it("accepts arguments at the top level of $( … ) inside double quotes", () => {
    expect(only('echo "$(printf %s {{x}})"')).toEqual(["argument", true]);
  });

  it("accepts arguments in a ( … ) subshell and a { …; } group", () => {
    expect(contexts("(cd /tmp && ls {{a}}); { echo {{b}}; } >/dev/null; echo {{c}}")).toEqual([
      ["a", "argument", true],
      ["b", "argument", true],
      ["c", "argument", true],
    ]);
  });

  it("accepts arguments in if and while bodies", () => {
    expect(contexts("if [ -f {{a}} ]; then rm -- {{b}}; fi; while true; do echo {{c}}; done")).toEqual([
      ["a", "argument", true],
      ["b", "argument", true],
      ["c", "argument", true],
    ]);
  });

  it("accepts an argument of a command run through sudo, env, timeout or nice", () => {
    for (const command of [
      "sudo -u app systemctl restart {{x}}",
      "env LANG=C systemctl restart {{x}}",
      "timeout -s KILL 5 systemctl restart {{x}}",
      "nice -n 5 systemctl restart {{x}}",
    ]) {
      expect(only(command), command).toEqual(["argument", true]);
    }
  });

  it("accepts a placeholder before a construct it does not follow", () => {
    expect(contexts("echo {{a}} `date`; echo {{b}}")).toEqual([
      ["a", "argument", true],
      ["b", "argument", true],
    ]);
  });

  it("records whether a placeholder leads its word and follows a -- argument", () => {
    const [a, b, c] = analyzeShellTemplate("rm -f {{a}} x{{b}} -- {{c}}").placeholders;
    expect([a!.leadsWord, a!.afterEndOfOptions]).toEqual([true, false]);
    expect([b!.leadsWord, b!.afterEndOfOptions]).toEqual([false, false]);
    expect([c!.leadsWord, c!.afterEndOfOptions]).toEqual([true, true]);
  });
});

describe("analyzeShellTemplate: refused contexts", () => {
  it("refuses the exploit from issue 13: a placeholder inside $(( ))", () => {
    const [p] = analyzeShellTemplate("echo $(( {{ticket.meta_data.n}} + 1 ))").placeholders;
    expect(p).toMatchObject({ name: "ticket.meta_data.n", context: "arithmetic", allowed: false });
    expect(p!.message).toContain("{{ticket.meta_data.n}}");
    expect(p!.message).toContain("./fix.sh {{ticket.meta_data.n}}");
  });

  it("refuses a placeholder in an (( )) arithmetic command", () => {
    expect(only("(( {{x}} > 3 ))")).toEqual(["arithmetic", false]);
  });

  it("refuses a placeholder in $[ ] arithmetic", () => {
    expect(only("echo $[ {{x}} + 1 ]")).toEqual(["arithmetic", false]);
  });

  it("refuses an argument of let", () => {
    expect(only("let n={{x}}")).toEqual(["evaluated-argument", false]);
  });

  it("refuses an array subscript in an assignment", () => {
    expect(only("a[{{x}}]=1")[1]).toBe(false);
  });

  it("refuses a variable assignment", () => {
    expect(only("X={{x}} ./fix.sh")).toEqual(["assignment", false]);
    expect(only('X="{{x}}"')).toEqual(["assignment", false]);
  });

  it("refuses arguments of declare, typeset, local, export and readonly", () => {
    for (const builtin of ["declare", "typeset", "local", "export", "readonly"]) {
      expect(only(`${builtin} v={{x}}`), builtin).toEqual(["evaluated-argument", false]);
    }
  });

  it("refuses arguments of read, unset, printf -v and test -v, which evaluate subscripts", () => {
    for (const command of [
      "read {{x}}",
      "unset {{x}}",
      "printf -v {{x}} %s y",
      "test -v {{x}}",
      "[ -v {{x}} ]",
    ]) {
      expect(only(command), command).toEqual(["evaluated-argument", false]);
    }
  });

  it("refuses [[ ]] operands (pattern matching and arithmetic), and follows the text after", () => {
    expect(contexts("[[ $a == {{a}} ]] && [[ $n -eq {{b}} ]]; echo {{c}}")).toEqual([
      ["a", "conditional", false],
      ["b", "conditional", false],
      ["c", "argument", true],
    ]);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
  it("refuses a placeholder inside a ${…} parameter expansion", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
    expect(only("echo ${X:-{{x}}}")).toEqual(["parameter-expansion", false]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
    expect(only('echo "${X:-{{x}}}"')).toEqual(["parameter-expansion", false]);
  });

  it("refuses a here-document body, its delimiter, and everything after it", () => {
    expect(contexts("cat <<EOF\n{{a}}\nEOF\necho {{b}}")).toEqual([
      ["a", "here-document", false],
      ["b", "here-document", false],
    ]);
    expect(only("cat <<{{x}}")).toEqual(["here-document", false]);
  });

  it("refuses a here-string and other redirection targets", () => {
    for (const command of ["cat <<< {{x}}", "echo hi > {{x}}", "sort < {{x}}", "echo hi 2>>{{x}}"]) {
      expect(only(command), command).toEqual(["redirection", false]);
    }
  });

  it("refuses a placeholder right after a $, where its value would start an expansion", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
    expect(only('echo "${{x}}"')).toEqual(["parameter-expansion", false]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
    expect(only("echo ${{x}}")).toEqual(["parameter-expansion", false]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell parameter expansion
    expect(only("echo '${{x}}'")).toEqual(["single-quoted", true]);
  });

  it("refuses a placeholder inside $'…'", () => {
    expect(only("echo $'{{x}}'")).toEqual(["ansi-c-string", false]);
  });

  it('refuses a placeholder inside $"…"', () => {
    expect(only('echo $"{{x}}"')).toEqual(["locale-string", false]);
  });

  it("refuses a placeholder inside backticks, at any nesting", () => {
    expect(only("echo `echo {{x}}`")).toEqual(["backticks", false]);
    expect(only('echo "`echo {{x}}`"')).toEqual(["backticks", false]);
    expect(only("echo $(echo `echo {{x}}`)")).toEqual(["backticks", false]);
  });

  it("refuses everything after a backtick substitution holding a backslash or quote", () => {
    expect(contexts("echo `echo \\`date\\``; echo {{a}}")).toEqual([["a", "unparsed", false]]);
  });

  it("refuses a placeholder in a comment", () => {
    expect(only("echo hi # {{x}}")).toEqual(["comment", false]);
  });

  it("refuses case statements, patterns included, and what follows them", () => {
    expect(contexts("case {{a}} in {{b}}) echo {{c}};; esac")).toEqual([
      ["a", "case", false],
      ["b", "case", false],
      ["c", "case", false],
    ]);
  });

  it("refuses the word list of a for loop but accepts its body", () => {
    expect(contexts("for h in a {{a}}; do ping -c1 -- {{b}}; done")).toEqual([
      ["a", "for-list", false],
      ["b", "argument", true],
    ]);
  });

  it("refuses the command-name position", () => {
    expect(only("{{x}} --version")).toEqual(["command-name", false]);
    expect(only("./bin/{{x}}")).toEqual(["command-name", false]);
  });

  it("refuses a wrapper's command position (sudo, env, timeout, nohup, exec, command)", () => {
    for (const command of [
      "sudo {{x}}",
      "env A=b {{x}}",
      "timeout 5 {{x}}",
      "nohup {{x}}",
      "exec {{x}}",
      "command {{x}}",
    ]) {
      expect(only(command), command).toEqual(["command-name", false]);
    }
  });

  it("refuses the output of a $( … ) used as the command name", () => {
    expect(only('"$(printf %s {{x}})" arg')).toEqual(["command-name", false]);
  });

  it("refuses a placeholder nested in substitutions whose output reaches sh -c", () => {
    expect(only('sh -c "$(echo $(printf %s {{x}}))"')).toEqual(["evaluated-argument", false]);
    expect(only('sh -c "$(echo "$(printf %s {{x}})")"')).toEqual(["evaluated-argument", false]);
    expect(only("bash -c <(echo {{x}})")).toEqual(["evaluated-argument", false]);
  });

  it("refuses a value whose command's output is piped into a shell, xargs or an interpreter", () => {
    for (const command of [
      "echo {{x}} | sh",
      "printf '%s\\n' {{x}} | sudo bash",
      "echo {{x}} | grep a | xargs rm",
      'echo "$(printf %s {{x}})" | python3',
      "echo {{x}} | while read -r l; do sh; done",
      "echo {{x}} | { cat; sh; }",
    ]) {
      const [p] = analyzeShellTemplate(command).placeholders;
      expect([p!.context, p!.allowed], command).toEqual(["evaluated-argument", false]);
      expect(p!.message, command).toContain("flows through a pipe into");
    }
    expect(only("echo {{x}} | grep -c y | sort")).toEqual(["argument", true]);
  });

  it("refuses an unquoted $( … ) in an argument, whose output is split and globbed", () => {
    expect(only("rm -- $(printf %s {{x}})")).toEqual(["split-substitution", false]);
  });

  it("refuses a word with brace expansion", () => {
    expect(only("echo {a,{{x}}}")).toEqual(["brace-expansion", false]);
  });

  it("refuses arguments of eval, sh -c, bash -c, su -c and ssh", () => {
    for (const command of [
      "eval {{x}}",
      "sh -c {{x}}",
      'bash -c "echo {{x}}"',
      "su -c {{x}} app",
      "ssh host ls {{x}}",
    ]) {
      expect(only(command), command).toEqual(["evaluated-argument", false]);
    }
  });

  it("refuses arguments of interpreters and command runners", () => {
    for (const command of [
      "awk '{print}' {{x}}",
      "perl -e 'print @ARGV' {{x}}",
      "python3 -c 'import sys' {{x}}",
      "xargs rm {{x}}",
      "watch ls {{x}}",
      "trap {{x}} EXIT",
      "source ./env.sh {{x}}",
      ". ./env.sh {{x}}",
      "find /var/log -name '*.log' -exec grep {{x}} {} +",
      "sed -i {{x}} file",
    ]) {
      expect(only(command), command).toEqual(["evaluated-argument", false]);
    }
  });

  it("looks through wrappers to the command that evaluates", () => {
    for (const command of [
      "sudo -u app bash -c {{x}}",
      "timeout 5 sh -c {{x}}",
      "env A=b sh -c {{x}}",
      "sudo -i {{x}}",
      "nice -n 5 nohup sh -c {{x}}",
      "docker exec web sh -c {{x}}",
      "kubectl exec web -- bash -c {{x}}",
    ]) {
      expect(only(command), command).toEqual(["evaluated-argument", false]);
    }
  });

  it("refuses the argument of an option that runs it (tar -I, git -c)", () => {
    expect(only("tar -I {{x}} -xf a.tar")).toEqual(["evaluated-argument", false]);
    expect(only("git -c {{x}} status")).toEqual(["evaluated-argument", false]);
    expect(only('psql -c "SELECT {{x}}"')).toEqual(["evaluated-argument", false]);
    expect(only("mysql --execute={{x}}")).toEqual(["evaluated-argument", false]);
    expect(only("psql -v ticket={{x}} -f fix.sql")).toEqual(["argument", true]);
  });

  it("refuses arguments of a command named by an expansion", () => {
    expect(only("$TOOL restart {{x}}")).toEqual(["evaluated-argument", false]);
    expect(only("sudo -- $TOOL {{x}}")).toEqual(["evaluated-argument", false]);
    expect(contexts("sudo -- {{a}} {{b}}")).toEqual([
      ["a", "command-name", false],
      ["b", "evaluated-argument", false],
    ]);
  });

  it("refuses what follows bash-only syntax that dash splits differently ($[ ], (( )), &>)", () => {
    // dash runs `echo inj ]` from `echo $[ 1 ; echo inj ]`, and `>/dev/null eval …` after `&`.
    expect(only("echo $[ 1 ; eval ] {{x}}")).toEqual(["unparsed", false]);
    expect(only("(( a #b ))\necho {{x}}")).toEqual(["unparsed", false]);
    expect(only("printf x &>/dev/null eval {{x}}")).toEqual(["unparsed", false]);
    expect(only("cmd &> {{x}}")).toEqual(["unparsed", false]);
    expect(only("echo $(( 1 + 2 )) {{x}}")).toEqual(["argument", true]);
  });

  it("refuses everything after alias or shopt, which change what later commands mean", () => {
    expect(only("shopt -s expand_aliases; alias ls=eval; ls {{x}}")).toEqual(["unparsed", false]);
  });

  it("refuses every placeholder when a quote is never closed", () => {
    expect(contexts("echo {{a}} 'oops")).toEqual([["a", "unparsed", false]]);
  });

  it("names the placeholder, the context and what to write instead in every refusal", () => {
    for (const p of analyzeShellTemplate("sh -c {{ticket.a}}; X={{ticket.b}}; cat > {{ticket.c}}")
      .placeholders) {
      expect(p.allowed).toBe(false);
      expect(p.message).toContain(`{{${p.name}}}`);
      expect(p.message).toMatch(/instead|such as|use /);
    }
  });
});
