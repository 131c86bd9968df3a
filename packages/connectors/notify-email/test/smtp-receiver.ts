/**
 * A real SMTP receiving end on loopback for the tests (the `smtp-server` package, port 0): it
 * keeps every delivered message raw, with its envelope, and can require AUTH or refuse
 * recipients with a 550.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** A delivered message: the SMTP envelope and the message exactly as it arrived. */
export interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** Options of the receiver. */
export interface ReceiverOptions {
  /** Require AUTH with this user and password. */
  auth?: { user: string; password: string };
  /** Offer STARTTLS (with smtp-server's own self-signed certificate). Default false. */
  starttls?: boolean;
  /** Recipients answered with 550. */
  refuse?: string[];
}

/** Decodes the quoted-printable soft breaks and escapes of a raw message, for simple checks. */
export function decodeQuotedPrintable(raw: string): string {
  const bytes = raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, "latin1").toString("utf8");
}

/** Starts the receiver on 127.0.0.1, a free port. */
export async function startSmtpReceiver(options: ReceiverOptions = {}) {
  const messages: Received[] = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    secure: false,
    logger: false,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disabledCommands: options.starttls ? [] : ["STARTTLS"],
    onAuth(auth, _session, callback) {
      const ok =
        options.auth && auth.username === options.auth.user && auth.password === options.auth.password;
      if (!ok) return callback(new Error("Invalid username or password"));
      logins.push(auth.username ?? "");
      return callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      if (options.refuse?.includes(address.address)) {
        const err = Object.assign(new Error("No such user here"), { responseCode: 550 });
        return callback(err);
      }
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("latin1"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    logins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
