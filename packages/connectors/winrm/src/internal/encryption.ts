/**
 * WinRM message encryption over HTTP with NTLM session security (MS-WSMV 2.2.9.1.1), laid out
 * byte for byte as pywinrm's `winrm/encryption.py` does: a `multipart/encrypted` body whose
 * octet-stream part is the signature length (4 bytes LE), the signature, then the sealed SOAP.
 */
import type { NtlmSecurity } from "./ntlm.js";

export const ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted";
export const ENCRYPTED_CONTENT_TYPE = `multipart/encrypted;protocol="${ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"`;
const BOUNDARY = Buffer.from("--Encrypted Boundary", "latin1");
const OCTET = Buffer.from("\tContent-Type: application/octet-stream\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");

export class EncryptionError extends Error {}

/** Seals one SOAP message into a multipart/encrypted body. */
export function encryptMessage(security: NtlmSecurity, message: Buffer): Buffer {
  const { sealed, signature } = security.wrap(message);
  const length = Buffer.alloc(4);
  length.writeInt32LE(signature.length);
  return Buffer.concat([
    BOUNDARY,
    CRLF,
    Buffer.from(
      `\tContent-Type: ${ENCRYPTED_PROTOCOL}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${message.length}\r\n`,
      "latin1",
    ),
    BOUNDARY,
    CRLF,
    OCTET,
    length,
    signature,
    sealed,
    BOUNDARY,
    Buffer.from("--\r\n", "latin1"),
  ]);
}

/** Whether a response Content-Type says the body is sealed. */
export function isEncrypted(contentType: string | undefined): boolean {
  return (
    !!contentType && contentType.toLowerCase().includes(`protocol="${ENCRYPTED_PROTOCOL.toLowerCase()}"`)
  );
}

/**
 * Opens a multipart/encrypted body: checks the signature (NtlmSecurity throws) and the declared
 * length, and returns the SOAP message.
 */
export function decryptMessage(security: NtlmSecurity, body: Buffer): Buffer {
  const head = body.indexOf(BOUNDARY);
  if (head !== 0) throw new EncryptionError("encrypted body does not start with its boundary");
  const second = body.indexOf(BOUNDARY, BOUNDARY.length);
  if (second < 0) throw new EncryptionError("encrypted body has no second part");
  const headers = body.subarray(BOUNDARY.length, second).toString("latin1");
  const match = /Length=(\d+)/.exec(headers);
  if (!match) throw new EncryptionError("encrypted body does not declare the message length");
  const expected = Number(match[1]);
  let start = second + BOUNDARY.length + CRLF.length;
  if (!body.subarray(start, start + OCTET.length).equals(OCTET))
    throw new EncryptionError("encrypted part is not application/octet-stream");
  start += OCTET.length;
  const end = body.lastIndexOf(BOUNDARY);
  if (end <= start) throw new EncryptionError("encrypted body has no closing boundary");
  const part = body.subarray(start, end);
  if (part.length < 4) throw new EncryptionError("encrypted part is truncated");
  const sigLength = part.readInt32LE(0);
  if (sigLength !== 16 || part.length < 4 + sigLength)
    throw new EncryptionError("encrypted part has a bad signature length");
  const message = security.unwrap(
    Buffer.from(part.subarray(4 + sigLength)),
    Buffer.from(part.subarray(4, 4 + sigLength)),
  );
  if (message.length !== expected)
    throw new EncryptionError("decrypted length differs from the declared length");
  return message;
}
