/**
 * What remediation-server.ts and its parent (remediation-client.ts) share: secrets of the bench's
 * webhooks, the modes, the IPC messages and the clock. Nothing heavy is imported here: the bare
 * servers load this module too.
 */
export const webhookSecret = "bench-webhook-secret-0123456789";
export const prometheusToken = "bench-alertmanager-token-0123456789";

export type ServerMode = "exec" | "bare" | "runwarden";

export type ChildMessage =
  | {
      type: "ready";
      port: number;
      /** runwarden mode: an API token (viewer role) from the server's own token store. */
      viewerToken?: string;
    }
  | {
      type: "drained";
      /** Sessions the engine created while it ran. */
      created: number;
      /** Sessions waiting at an approval when the drain ended (counted as settled). */
      awaitingApproval: number;
      /** One entry per `session:finished`: the ticket's external id, when (ms, shared clock), status. */
      finished: [string, number, string][];
      /** True when sessions were still running after the drain's time limit. */
      timedOut: boolean;
    };

export type Drained = Extract<ChildMessage, { type: "drained" }>;

/** The clock both processes share: epoch milliseconds with sub-millisecond resolution. */
export const now = (): number => performance.timeOrigin + performance.now();
