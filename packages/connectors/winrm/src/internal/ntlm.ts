/**
 * NTLM (MS-NLMP) as WinRM needs it: NTLMv2 authentication with extended session security, key
 * exchange and a MIC, then message sealing and signing (the session security WinRM uses to
 * encrypt SOAP over plain HTTP, MS-WSMV 2.2.9.1.1). Checked against the test vectors of MS-NLMP
 * section 4.2.4 and against Debian's pywinrm/ntlm-auth (test/ntlm.test.ts, test/pywinrm.int.test.ts).
 * Only NTLMv2 is offered: LM and NTLMv1 are never computed.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { md4, Rc4, rc4 } from "./legacy-crypto.js";

const SIGNATURE = Buffer.from("NTLMSSP\0", "latin1");

/** NEGOTIATE flags (MS-NLMP 2.2.2.5). */
export const Flags = {
  UNICODE: 0x0000_0001,
  OEM: 0x0000_0002,
  REQUEST_TARGET: 0x0000_0004,
  SIGN: 0x0000_0010,
  SEAL: 0x0000_0020,
  NTLM: 0x0000_0200,
  ALWAYS_SIGN: 0x0000_8000,
  EXTENDED_SESSIONSECURITY: 0x0008_0000,
  TARGET_INFO: 0x0080_0000,
  VERSION: 0x0200_0000,
  N128: 0x2000_0000,
  KEY_EXCH: 0x4000_0000,
  N56: 0x8000_0000,
} as const;

/** What the client asks for: NTLMv2 with sealing, signing, 128-bit keys and key exchange. */
export const CLIENT_FLAGS =
  (Flags.UNICODE |
    Flags.REQUEST_TARGET |
    Flags.SIGN |
    Flags.SEAL |
    Flags.NTLM |
    Flags.ALWAYS_SIGN |
    Flags.EXTENDED_SESSIONSECURITY |
    Flags.TARGET_INFO |
    Flags.VERSION |
    Flags.N128 |
    Flags.KEY_EXCH |
    Flags.N56) >>>
  0;

/** AV_PAIR ids (MS-NLMP 2.2.2.1). */
export const Av = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  Flags: 6,
  Timestamp: 7,
} as const;

/** Windows 10 build 19041, NTLM revision 15: the version field clients send. */
const VERSION = Buffer.from([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);

export class NtlmError extends Error {}

function utf16(text: string): Buffer {
  return Buffer.from(text, "utf16le");
}

function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac("md5", key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5 of the user (upper-cased) and domain, keyed by MD4(password). */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(md4(utf16(password)), utf16(user.toUpperCase() + domain));
}

/** The NTLMv2 proof and the session base key for one response (MS-NLMP 3.3.2). */
export function ntlmv2Response(
  responseKey: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
  timestamp: Buffer,
  avPairs: Buffer,
): { ntProof: Buffer; ntResponse: Buffer; sessionBaseKey: Buffer } {
  const temp = Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    timestamp,
    clientChallenge,
    Buffer.alloc(4),
    avPairs,
    Buffer.alloc(4),
  ]);
  const ntProof = hmacMd5(responseKey, serverChallenge, temp);
  return {
    ntProof,
    ntResponse: Buffer.concat([ntProof, temp]),
    sessionBaseKey: hmacMd5(responseKey, ntProof),
  };
}

/** Reads AV_PAIRs up to MsvAvEOL. */
export function parseAvPairs(data: Buffer): Map<number, Buffer> {
  const pairs = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= data.length) {
    const id = data.readUInt16LE(off);
    const len = data.readUInt16LE(off + 2);
    if (id === Av.EOL) break;
    if (off + 4 + len > data.length) throw new NtlmError("truncated AV_PAIR");
    pairs.set(id, data.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return pairs;
}

/** Writes AV_PAIRs, ending with MsvAvEOL. */
export function buildAvPairs(pairs: Map<number, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [id, value] of pairs) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(id, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** A Windows FILETIME (100 ns ticks since 1601) as 8 little-endian bytes. */
export function fileTime(ms: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE((BigInt(Math.round(ms)) + 11_644_473_600_000n) * 10_000n);
  return out;
}

/** Reads a security buffer (len, maxlen, offset) field at `at`. */
export function field(message: Buffer, at: number): Buffer {
  const len = message.readUInt16LE(at);
  const off = message.readUInt32LE(at + 4);
  if (off + len > message.length) throw new NtlmError("NTLM field points past the message");
  return message.subarray(off, off + len);
}

function checkHeader(message: Buffer, type: number): void {
  if (message.length < 12 || !message.subarray(0, 8).equals(SIGNATURE) || message.readUInt32LE(8) !== type)
    throw new NtlmError(`not an NTLM type ${type} message`);
}

/** Lays out a message: fixed header, then payload fields whose security buffers point into it. */
function layout(header: Buffer, fields: { at: number; data: Buffer }[]): Buffer {
  let offset = header.length;
  for (const f of fields) {
    header.writeUInt16LE(f.data.length, f.at);
    header.writeUInt16LE(f.data.length, f.at + 2);
    header.writeUInt32LE(offset, f.at + 4);
    offset += f.data.length;
  }
  return Buffer.concat([header, ...fields.map((f) => f.data)]);
}

/** The NEGOTIATE message (type 1). Domain and workstation are left empty, as Windows does. */
export function negotiateMessage(flags = CLIENT_FLAGS): Buffer {
  const m = Buffer.alloc(40);
  SIGNATURE.copy(m);
  m.writeUInt32LE(1, 8);
  m.writeUInt32LE(flags >>> 0, 12);
  VERSION.copy(m, 32);
  return m;
}

/** A parsed CHALLENGE message (type 2). */
export interface Challenge {
  flags: number;
  serverChallenge: Buffer;
  targetInfo: Buffer;
  raw: Buffer;
}

export function parseChallenge(raw: Buffer): Challenge {
  checkHeader(raw, 2);
  if (raw.length < 48) throw new NtlmError("NTLM challenge too short");
  return {
    flags: raw.readUInt32LE(20),
    serverChallenge: Buffer.from(raw.subarray(24, 32)),
    targetInfo: Buffer.from(field(raw, 40)),
    raw,
  };
}

/** Builds a CHALLENGE message (the fake server's side; also used by tests). */
export function challengeMessage(
  flags: number,
  serverChallenge: Buffer,
  targetName: string,
  targetInfo: Buffer,
) {
  const header = Buffer.alloc(56);
  SIGNATURE.copy(header);
  header.writeUInt32LE(2, 8);
  header.writeUInt32LE(flags >>> 0, 20);
  serverChallenge.copy(header, 24);
  VERSION.copy(header, 48);
  return layout(header, [
    { at: 12, data: utf16(targetName) },
    { at: 40, data: targetInfo },
  ]);
}

/** The login an NTLM exchange proves. */
export interface NtlmLogin {
  username: string;
  password: string;
  domain: string;
  workstation?: string;
}

/** Values a test fixes; random (and now) otherwise. */
export interface NtlmRandom {
  clientChallenge?: Buffer;
  exportedSessionKey?: Buffer;
  timestamp?: Buffer;
}

/**
 * The AUTHENTICATE message (type 3) answering `challenge`, and the session security for the
 * connection. Refuses a server that does not offer extended session security and 128-bit keys
 * (every Windows since Vista does).
 */
export function authenticateMessage(
  login: NtlmLogin,
  negotiate: Buffer,
  challenge: Challenge,
  random: NtlmRandom = {},
): { message: Buffer; security: NtlmSecurity } {
  const flags = (challenge.flags & CLIENT_FLAGS) >>> 0;
  if (!(flags & Flags.EXTENDED_SESSIONSECURITY) || !(flags & Flags.N128))
    throw new NtlmError("the server does not offer NTLMv2 session security with 128-bit keys");
  const pairs = parseAvPairs(challenge.targetInfo);
  const serverTime = pairs.get(Av.Timestamp);
  const timestamp = random.timestamp ?? serverTime ?? fileTime(Date.now());
  if (serverTime) {
    const avFlags = Buffer.alloc(4);
    avFlags.writeUInt32LE(((pairs.get(Av.Flags)?.readUInt32LE(0) ?? 0) | 0x2) >>> 0); // MIC present
    pairs.set(Av.Flags, avFlags);
  }
  const clientChallenge = random.clientChallenge ?? randomBytes(8);
  const { ntResponse, sessionBaseKey } = ntlmv2Response(
    ntowfv2(login.password, login.username, login.domain),
    challenge.serverChallenge,
    clientChallenge,
    timestamp,
    buildAvPairs(pairs),
  );
  let exported: Buffer = sessionBaseKey;
  let encryptedKey: Buffer = Buffer.alloc(0);
  if (flags & Flags.KEY_EXCH) {
    exported = random.exportedSessionKey ?? randomBytes(16);
    encryptedKey = rc4(sessionBaseKey, exported);
  }
  const header = Buffer.alloc(88);
  SIGNATURE.copy(header);
  header.writeUInt32LE(3, 8);
  header.writeUInt32LE(flags, 60);
  VERSION.copy(header, 64);
  const message = layout(header, [
    // With a server timestamp, LmChallengeResponse is Z(24) (MS-NLMP 3.1.5.1.2).
    { at: 12, data: Buffer.alloc(serverTime ? 24 : 0) },
    { at: 20, data: ntResponse },
    { at: 28, data: utf16(login.domain) },
    { at: 36, data: utf16(login.username) },
    { at: 44, data: utf16(login.workstation ?? "") },
    { at: 52, data: encryptedKey },
  ]);
  if (serverTime) hmacMd5(exported, negotiate, challenge.raw, message).copy(message, 72);
  return { message, security: new NtlmSecurity(exported, flags, "client") };
}

/** A parsed AUTHENTICATE message, for the fake server. */
export interface Authenticate {
  flags: number;
  username: string;
  domain: string;
  ntResponse: Buffer;
  encryptedKey: Buffer;
  mic: Buffer;
  raw: Buffer;
}

export function parseAuthenticate(raw: Buffer): Authenticate {
  checkHeader(raw, 3);
  if (raw.length < 64) throw new NtlmError("NTLM authenticate message too short");
  // Strings are UTF-16LE when Unicode was negotiated, else the OEM code page (MS-NLMP 2.2.2.5).
  const encoding = raw.readUInt32LE(60) & Flags.UNICODE ? "utf16le" : "latin1";
  return {
    ntResponse: Buffer.from(field(raw, 20)),
    domain: field(raw, 28).toString(encoding),
    username: field(raw, 36).toString(encoding),
    encryptedKey: Buffer.from(field(raw, 52)),
    flags: raw.readUInt32LE(60),
    mic: Buffer.from(raw.subarray(72, 88)),
    raw,
  };
}

const magic = (text: string) => Buffer.from(`session key to ${text} key magic constant\0`, "latin1");

/**
 * NTLM session security (MS-NLMP 3.4) for one side of a connection: `wrap` seals and signs what
 * this side sends, `unwrap` unseals and verifies what the other side sent. Each direction has its
 * own RC4 stream and sequence number, so messages must be unwrapped in the order they were sent.
 */
export class NtlmSecurity {
  readonly #outSign: Buffer;
  readonly #inSign: Buffer;
  readonly #outSeal: Rc4;
  readonly #inSeal: Rc4;
  readonly #keyExch: boolean;
  #outSeq = 0;
  #inSeq = 0;

  constructor(exportedSessionKey: Buffer, flags: number, side: "client" | "server") {
    const md5 = (...parts: Buffer[]) => createHash("md5").update(Buffer.concat(parts)).digest();
    const sealKey =
      (flags & Flags.N128) !== 0
        ? exportedSessionKey
        : exportedSessionKey.subarray(0, (flags & Flags.N56) !== 0 ? 7 : 5);
    const c2s = {
      sign: md5(exportedSessionKey, magic("client-to-server signing")),
      seal: md5(sealKey, magic("client-to-server sealing")),
    };
    const s2c = {
      sign: md5(exportedSessionKey, magic("server-to-client signing")),
      seal: md5(sealKey, magic("server-to-client sealing")),
    };
    const [out, into] = side === "client" ? [c2s, s2c] : [s2c, c2s];
    this.#outSign = out.sign;
    this.#inSign = into.sign;
    this.#outSeal = new Rc4(out.seal);
    this.#inSeal = new Rc4(into.seal);
    this.#keyExch = (flags & Flags.KEY_EXCH) !== 0;
  }

  #signature(sign: Buffer, seal: Rc4, seq: number, message: Buffer): Buffer {
    const seqBytes = Buffer.alloc(4);
    seqBytes.writeUInt32LE(seq >>> 0);
    let checksum = hmacMd5(sign, seqBytes, message).subarray(0, 8);
    if (this.#keyExch) checksum = seal.update(checksum);
    return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seqBytes]);
  }

  /** Seals `message` and signs it: the sealed bytes and the 16-byte signature. */
  wrap(message: Buffer): { sealed: Buffer; signature: Buffer } {
    const sealed = this.#outSeal.update(message);
    const signature = this.#signature(this.#outSign, this.#outSeal, this.#outSeq++, message);
    return { sealed, signature };
  }

  /** Unseals `sealed` and checks its signature; throws NtlmError when it does not match. */
  unwrap(sealed: Buffer, signature: Buffer): Buffer {
    const message = this.#inSeal.update(sealed);
    const expected = this.#signature(this.#inSign, this.#inSeal, this.#inSeq++, message);
    if (!expected.equals(signature)) throw new NtlmError("NTLM message signature does not match");
    return message;
  }
}
