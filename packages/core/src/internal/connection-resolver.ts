/**
 * The resolver's types: connections with their credentials opened, for the executor and the
 * connections API's health check. engine.ts builds one resolver (`createConnectionResolver` in
 * connections.ts) and hands it to exactly those two parts; no public object leads to it.
 */
import type { ConnectionRecord } from "../domain.js";
import type { ResolvedConnection } from "../plugin.js";

/** A connection ready for a connector call, and what an approval is bound to. */
export interface Resolution {
  resolved: ResolvedConnection;
  /** The stored connection; null for `local` and raw ticket hosts. */
  record: ConnectionRecord | null;
  /** The non-secret facts an approval is bound to: target and credential identity. */
  binding: {
    connection: string;
    connectionType: string;
    targetHost: string | null;
    targetPort: number | null;
    targetService: string | null;
    credentialId: number | null;
    /** Changes whenever the credential's fields or secrets change (not on key rotation). */
    credentialUpdatedAt: string | null;
  };
}

/** A raw target from a ticket's `metaData.connection_config`, already allowed by policy. */
export interface RawTarget {
  connectionType: string;
  host: string;
  port: number | null;
  targetService: string | null;
  credentialId: number | null;
  environment: string;
  options: Record<string, unknown>;
}

export interface ConnectionResolver {
  byName(name: string): Promise<Resolution | undefined>;
  byId(id: number): Promise<Resolution | undefined>;
  /** A stored connection (already read) with its credential opened. */
  fromRecord(record: ConnectionRecord): Promise<Resolution>;
  raw(target: RawTarget): Promise<Resolution>;
  /** Environment of a credential, to check a ticket may use it; undefined when there is none. */
  credentialEnvironment(id: number): Promise<string | undefined>;
}
