/**
 * The one signal a connector call receives. Core builds it at every call site (a step's exec,
 * open and health check, a connection test, the registry's health checks, ticket sync's deliveries
 * and pulls, the monitoring poller's pulls, acknowledges and resolves), so a connector never
 * combines signals itself.
 */

/** The timeout timer of each signal `callSignal` made with one, until `endCallSignal`. */
const timers = new WeakMap<AbortSignal, NodeJS.Timeout>();

/**
 * A signal aborted when `lifetime` aborts (the engine's, or the part's that owns the call), when
 * `parent` aborts (the caller's own stop: a session cancelled), or after `timeoutMs` (with a
 * `TimeoutError` reason: see `timedOut`). Without a timeout or a parent it is `lifetime` itself.
 */
export function callSignal(lifetime: AbortSignal, timeoutMs?: number, parent?: AbortSignal): AbortSignal {
  const signals = [lifetime];
  if (parent) signals.push(parent);
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    // Not AbortSignal.timeout: AbortSignal.any holds its sources weakly, and nothing else holds a
    // timeout signal, so it can be collected before it fires and the call would never time out.
    // This timer holds its controller until it fires (unref'd: it keeps no process alive).
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
      Math.max(0, Math.ceil(timeoutMs)),
    );
    timer.unref();
    signals.push(timeout.signal);
    const signal = AbortSignal.any(signals);
    timers.set(signal, timer);
    return signal;
  }
  return signals.length === 1 ? lifetime : AbortSignal.any(signals);
}

/**
 * Ends a call's signal once the call is over: its timeout timer is cleared, so neither the timer
 * nor the signals it holds outlive the call (a 10,000-step session left 10,000 timers, each with
 * its controller and signals, until their timeouts ran out). Its abort state is kept as it was.
 */
export function endCallSignal(signal: AbortSignal): void {
  const timer = timers.get(signal);
  if (timer === undefined) return;
  clearTimeout(timer);
  timers.delete(signal);
}

/** True when `signal` was aborted by the timeout of `callSignal` (not by a stop or shutdown). */
export function timedOut(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof DOMException && reason.name === "TimeoutError";
}
