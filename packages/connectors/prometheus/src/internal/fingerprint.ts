/**
 * Alertmanager's alert fingerprint, for payloads that do not carry it (Alertmanager before 0.19
 * omits `fingerprint` from webhook alerts): FNV-1a 64 over the label names in sorted order, each
 * name and value followed by the byte 0xff, printed as 16 hex digits (prometheus/common
 * `model.LabelSet.Fingerprint`, `labelSetToFingerprint`). The same labels give the fingerprint a
 * newer Alertmanager would send, so a resolution matches its alert either way.
 */
const offset = 0xcbf29ce484222325n;
const prime = 0x100000001b3n;
const mask = 0xffffffffffffffffn;

function add(hash: bigint, bytes: Uint8Array): bigint {
  let h = hash;
  for (const byte of bytes) h = ((h ^ BigInt(byte)) * prime) & mask;
  return h;
}

const separator = new Uint8Array([0xff]);
const encoder = new TextEncoder();

/** `labelSetFingerprint({ alertname: "X", job: "node" })` → `"…16 hex digits…"`. */
export function labelSetFingerprint(labels: Readonly<Record<string, string>>): string {
  let hash = offset;
  // Go sorts label names by byte order; so does comparing UTF-16 code units for the ASCII names
  // Prometheus allows.
  for (const name of Object.keys(labels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash = add(hash, encoder.encode(name));
    hash = add(hash, separator);
    hash = add(hash, encoder.encode(labels[name] ?? ""));
    hash = add(hash, separator);
  }
  return hash.toString(16).padStart(16, "0");
}
