/**
 * The one signal a connector call receives. Core builds it at every call site (a step's exec,
 * open and health check, a connection test, the registry's health checks, ticket sync's deliveries
 * and pulls, the monitoring poller's pulls, acknowledges and resolves), so a connector never
 * combines signals itself.
 */

/**
 * A signal aborted when `lifetime` aborts (the engine's, or the part's that owns the call), when
 * `parent` aborts (the caller's own stop: a session cancelled), or after `timeoutMs` (with a
 * `TimeoutError` reason: see `timedOut`). Without a timeout or a parent it is `lifetime` itself.
 */
export function callSignal(lifetime: AbortSignal, timeoutMs?: number, parent?: AbortSignal): AbortSignal {
  const signals = [lifetime];
  if (parent) signals.push(parent);
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs))
    signals.push(AbortSignal.timeout(Math.max(0, Math.ceil(timeoutMs))));
  return signals.length === 1 ? lifetime : AbortSignal.any(signals);
}

/** True when `signal` was aborted by the timeout of `callSignal` (not by a stop or shutdown). */
export function timedOut(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof DOMException && reason.name === "TimeoutError";
}
