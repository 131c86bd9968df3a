import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Redactor } from "../../src/executor/redaction.js";

describe("Redactor", () => {
  it("replaces every occurrence of every secret, longest first", () => {
    const r = new Redactor();
    r.add(["hunter2", "hunter2-extended", ""]);
    expect(r.redact("pw=hunter2-extended; again hunter2 and hunter2")).toBe("pw=***; again *** and ***");
  });

  it("catches a secret split across stream chunks", () => {
    const r = new Redactor();
    r.add(["s3cr3t-value"]);
    const stream = r.stream();
    const out = ["login s3c", "r3t-v", "alue ok"].map((c) => stream.push(c)).join("") + stream.flush();
    expect(out).toBe("login *** ok");
  });

  it("never lets a secret through however the output is chunked (property)", () => {
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 3, maxLength: 12 })
          .filter((s) => s.trim().length === s.length && s.length >= 3),
        fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }),
        (secret, fillers, cuts) => {
          const text = fillers.join(secret);
          const r = new Redactor();
          r.add([secret]);
          const stream = r.stream();
          let out = "";
          let at = 0;
          for (let i = 0; at < text.length; i++) {
            const size = cuts[i % cuts.length]!;
            out += stream.push(text.slice(at, at + size));
            at += size;
          }
          out += stream.flush();
          expect(out).toBe(r.redact(text));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("Redactor derived forms", () => {
  const secret = "pa ss/w+rd=1&x";

  it("redacts the URL-encoded, form-encoded, JSON-escaped and hex forms of a secret", () => {
    const r = new Redactor();
    r.add([secret, 'q"uo\\te-secret']);
    const text = [
      `url ${encodeURIComponent(secret)}`,
      `form ${new URLSearchParams({ p: secret }).toString()}`,
      `json ${JSON.stringify({ p: 'q"uo\\te-secret' })}`,
      `hex ${Buffer.from(secret).toString("hex")}`,
    ].join("\n");
    const out = r.redact(text);
    expect(out).toBe('url ***\nform p=***\njson {"p":"***"}\nhex ***');
  });

  it("redacts base64 and base64url of a secret alone", () => {
    const r = new Redactor();
    r.add([secret]);
    const b64 = Buffer.from(secret).toString("base64");
    const b64url = Buffer.from(secret).toString("base64url");
    expect(r.redact(`a ${b64} b ${b64url}`)).toBe("a *** b ***");
  });

  it("masks the password inside Basic base64(user:password) whatever the user name", () => {
    const password = "correct-horse-battery";
    const r = new Redactor();
    r.add([password]);
    for (const user of ["a", "ab", "abc", "operator", "x.y"]) {
      const header = `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
      const out = r.redact(header);
      expect(out).toContain("***");
      // Besides the groups made of the user name alone, at most the 8 characters at the edges of
      // the password's part stay visible (each mixes a few bits of it with its neighbours).
      const visible = out.slice("Authorization: Basic ".length).split("***").join("");
      expect(visible.length - 4 * Math.floor(user.length / 3)).toBeLessThanOrEqual(8);
    }
  });

  it("catches a derived form split across stream chunks", () => {
    const r = new Redactor();
    r.add(["s3cr3t/value+1"]);
    const encoded = encodeURIComponent("s3cr3t/value+1");
    const b64 = Buffer.from("s3cr3t/value+1").toString("base64");
    const text = `q=${encoded}&x=1 then ${b64} end`;
    for (let cut = 1; cut < text.length; cut++) {
      const stream = r.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      expect(out).toBe("q=***&x=1 then *** end");
    }
  });

  it("never lets a derived form through however the output is chunked (property)", () => {
    fc.assert(
      fc.property(
        // Without "*": two adjacent markers must not spell the secret again.
        fc.string({ minLength: 6, maxLength: 16 }).filter((s) => !s.includes("*")),
        fc.array(fc.string({ maxLength: 8 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 20 }),
        (secret, fillers, cuts) => {
          const r = new Redactor();
          r.add([secret]);
          const forms = [
            encodeURIComponent(secret),
            Buffer.from(secret).toString("base64"),
            Buffer.from(secret).toString("hex"),
          ];
          const text = fillers.reduce((acc, filler, i) => acc + forms[i % forms.length] + filler);
          const stream = r.stream();
          let out = "";
          let at = 0;
          for (let i = 0; at < text.length; i++) {
            const size = cuts[i % cuts.length]!;
            out += stream.push(text.slice(at, at + size));
            at += size;
          }
          out += stream.flush();
          expect(out).toBe(r.redact(text));
          for (const form of forms) expect(out).not.toContain(form);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("redacts what a parent redactor holds, including values added to it later", () => {
    const engine = new Redactor();
    engine.add(["server-admin-token-1"]);
    const session = new Redactor(engine);
    session.add(["vault-secret-1"]);
    expect(session.size).toBe(1);
    engine.add(["late-webhook-secret"]);
    expect(session.redact("server-admin-token-1 vault-secret-1 late-webhook-secret")).toBe("*** *** ***");
    expect(engine.redact("vault-secret-1")).toBe("vault-secret-1");
  });
});
