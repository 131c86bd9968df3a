import { describe, expect, it } from "vitest";
import { decryptMessage, encryptMessage } from "../src/internal/encryption.js";
import { md4, rc4 } from "../src/internal/legacy-crypto.js";
import {
  Av,
  authenticateMessage,
  buildAvPairs,
  challengeMessage,
  Flags,
  fileTime,
  NtlmSecurity,
  negotiateMessage,
  ntlmv2Response,
  ntowfv2,
  parseAuthenticate,
  parseChallenge,
} from "../src/internal/ntlm.js";

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ""), "hex");

describe("md4 (RFC 1320 appendix A.5)", () => {
  it.each([
    ["", "31d6cfe0d16ae931b73c59d7e0c089c0"],
    ["a", "bde52cb31de33e46245e05fbdbd6fb24"],
    ["abc", "a448017aaf21d8525fc10ae87aa6729d"],
    ["message digest", "d9130a8164549fe818874806e1c7014b"],
    ["abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"],
    [
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "e33b4ddc9c38f2199c3e7b164fcc0536",
    ],
  ])("hashes %j", (input, digest) => {
    expect(md4(Buffer.from(input, "latin1")).toString("hex")).toBe(digest);
  });
});

describe("rc4 (published test vectors)", () => {
  it.each([
    ["Key", "Plaintext", "bbf316e8d940af0ad3"],
    ["Wiki", "pedia", "1021bf0420"],
    ["Secret", "Attack at dawn", "45a01f645fc35b383552544b9bf5"],
  ])("encrypts with key %j", (key, plain, cipher) => {
    expect(rc4(Buffer.from(key), Buffer.from(plain)).toString("hex")).toBe(cipher);
  });
});

// MS-NLMP 4.2.4: user "User", domain "Domain", password "Password", server challenge
// 0123456789abcdef, client challenge aa…, time 0, random session key 55….
describe("NTLMv2 (MS-NLMP 4.2.4 test vectors)", () => {
  const serverChallenge = hex("0123456789abcdef");
  const avPairs = buildAvPairs(
    new Map([
      [Av.NbDomainName, Buffer.from("Domain", "utf16le")],
      [Av.NbComputerName, Buffer.from("Server", "utf16le")],
    ]),
  );

  it("derives NTOWFv2 (4.2.4.1.1)", () => {
    expect(ntowfv2("Password", "User", "Domain").toString("hex")).toBe("0c868a403bfd7a93a3001ef22ef02e3f");
  });

  it("computes NTProofStr and the session base key (4.2.4.2.2, 4.2.4.1.2)", () => {
    const r = ntlmv2Response(
      ntowfv2("Password", "User", "Domain"),
      serverChallenge,
      Buffer.alloc(8, 0xaa),
      Buffer.alloc(8),
      avPairs,
    );
    expect(r.ntProof.toString("hex")).toBe("68cd0ab851e51c96aabc927bebef6a1c");
    expect(r.sessionBaseKey.toString("hex")).toBe("8de40ccadbc14a82f15cb0ad0de95ca3");
    expect(rc4(r.sessionBaseKey, Buffer.alloc(16, 0x55)).toString("hex")).toBe(
      "c5dad2544fc9799094ce1ce90bc9d03e",
    );
  });

  it("seals and signs as GSS_WrapEx does (4.2.4.4), then continues the RC4 stream", () => {
    const client = new NtlmSecurity(Buffer.alloc(16, 0x55), 0xe28a8233, "client");
    const first = client.wrap(Buffer.from("Plaintext", "utf16le"));
    expect(first.sealed.toString("hex")).toBe("54e50165bf1936dc996020c1811b0f06fb5f");
    expect(first.signature.toString("hex")).toBe("010000007fb38ec5c55d497600000000");
    // The next message and the server's direction, as Debian's ntlm-auth 1.4 computes them.
    const second = client.wrap(Buffer.from("second message"));
    expect(second.sealed.toString("hex")).toBe("47a6078f91c67f8aff502232cb2f");
    expect(second.signature.toString("hex")).toBe("010000004c55ec1dfa82904001000000");
    const server = new NtlmSecurity(Buffer.alloc(16, 0x55), 0xe28a8233, "server");
    const reply = server.wrap(Buffer.from("from server"));
    expect(reply.sealed.toString("hex")).toBe("207a72da71c9789b5ea155");
    expect(reply.signature.toString("hex")).toBe("01000000544cd0c21fa3258400000000");
  });
});

describe("the NTLM exchange", () => {
  function exchange(password: string) {
    const negotiate = negotiateMessage();
    const info = buildAvPairs(
      new Map([
        [Av.NbDomainName, Buffer.from("CORP", "utf16le")],
        [Av.Timestamp, fileTime(Date.now())],
      ]),
    );
    const serverChallenge = Buffer.from("0011223344556677", "hex");
    const flags = (negotiate.readUInt32LE(12) | Flags.TARGET_INFO) >>> 0;
    const challenge = parseChallenge(challengeMessage(flags, serverChallenge, "CORP", info));
    const { message, security } = authenticateMessage(
      { username: "ops", password, domain: "CORP" },
      negotiate,
      challenge,
    );
    return { message: parseAuthenticate(message), security, serverChallenge };
  }

  it("proves the password the server knows, and both sides derive the same sealing keys", () => {
    const { message, security, serverChallenge } = exchange("s3cret!");
    expect(message.username).toBe("ops");
    expect(message.domain).toBe("CORP");
    const blob = message.ntResponse.subarray(16);
    const check = ntlmv2Response(
      ntowfv2("s3cret!", "ops", "CORP"),
      serverChallenge,
      blob.subarray(16, 24),
      blob.subarray(8, 16),
      blob.subarray(28, blob.length - 4),
    );
    expect(check.ntProof.equals(message.ntResponse.subarray(0, 16))).toBe(true);
    expect(message.mic.equals(Buffer.alloc(16))).toBe(false);
    const server = new NtlmSecurity(rc4(check.sessionBaseKey, message.encryptedKey), message.flags, "server");
    const soap = Buffer.from("<env:Envelope>…</env:Envelope>");
    const sealed = encryptMessage(security, soap);
    expect(sealed.includes(soap)).toBe(false);
    expect(decryptMessage(server, sealed).equals(soap)).toBe(true);
    expect(decryptMessage(security, encryptMessage(server, Buffer.from("answer"))).toString()).toBe("answer");
  });

  it("refuses a sealed message that was tampered with", () => {
    const { message, security, serverChallenge } = exchange("pw");
    const blob = message.ntResponse.subarray(16);
    const key = ntlmv2Response(
      ntowfv2("pw", "ops", "CORP"),
      serverChallenge,
      blob.subarray(16, 24),
      blob.subarray(8, 16),
      blob.subarray(28, blob.length - 4),
    ).sessionBaseKey;
    const server = new NtlmSecurity(rc4(key, message.encryptedKey), message.flags, "server");
    const sealed = encryptMessage(security, Buffer.from("<a>run dir</a>"));
    sealed[sealed.length - 30]! ^= 1;
    expect(() => decryptMessage(server, sealed)).toThrow(/signature/);
  });

  it("a wrong password gives a proof the server rejects", () => {
    const { message, serverChallenge } = exchange("wrong");
    const blob = message.ntResponse.subarray(16);
    const check = ntlmv2Response(
      ntowfv2("right", "ops", "CORP"),
      serverChallenge,
      blob.subarray(16, 24),
      blob.subarray(8, 16),
      blob.subarray(28, blob.length - 4),
    );
    expect(check.ntProof.equals(message.ntResponse.subarray(0, 16))).toBe(false);
  });
});
