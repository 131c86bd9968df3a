/**
 * The engine's event bus as server-sent events. One hub listens to the bus once, numbers each
 * event and keeps the last few hundred, so a client that reconnects with `Last-Event-ID` misses
 * nothing that is still buffered; each stream only receives what its token may see.
 */
import type { EngineEventMap, EngineEventName, EngineEvents, Role } from "@runwarden/core";
import { toSnake } from "./wire.js";

/** Every event of the bus, in the order of events.ts. */
export const eventNames = [
  "ticket:ingested",
  "ticket:analyzed",
  "ticket:updated",
  "intake:queued",
  "intake:refused",
  "intake:processed",
  "intake:failed",
  "import:progressed",
  "import:finished",
  "import:resumed",
  "runbook:created",
  "runbook:approved",
  "runbook:retired",
  "runbook:auto-execution-paused",
  "runbook:auto-execution-resumed",
  "session:created",
  "session:updated",
  "session:finished",
  "step:started",
  "step:output",
  "step:finished",
  "approval:requested",
  "approval:decided",
  "credential:changed",
  "connection:changed",
  "connection:checked",
  "outbox:delivered",
  "outbox:dead-lettered",
] as const satisfies readonly EngineEventName[];

// Fails to compile when events.ts gains an event this list does not forward.
type Missing = Exclude<EngineEventName, (typeof eventNames)[number]>;
const _allForwarded: [Missing] extends [never] ? true : never = true;
void _allForwarded;

/** Events about credentials and connections are for operators; the rest for every role. */
const operatorOnly: ReadonlySet<EngineEventName> = new Set([
  "credential:changed",
  "connection:changed",
  "connection:checked",
]);

export function mayReceive(roles: readonly Role[], name: EngineEventName): boolean {
  if (roles.includes("admin")) return true;
  if (operatorOnly.has(name)) return roles.includes("operator");
  return roles.length > 0;
}

interface Buffered {
  id: number;
  name: EngineEventName;
  /** When the bus emitted it (ms since the epoch). */
  at: number;
  /** The payload, snake_case. */
  data: unknown;
  /** The SSE frame as UTF-8, built on first use and shared by every stream that sends it. */
  readonly frame: Uint8Array;
}

type Subscriber = (event: Buffered) => void;

function snakeKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(snakeKeys);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[toSnake(k)] = snakeKeys(v);
  return out;
}

/** Strips CR/LF-free JSON into one `data:` line (JSON.stringify never emits raw newlines). */
function frameOf(id: number, name: string, data: unknown): string {
  return `id: ${id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * An event as buffered: its payload is copied (snake_case) now, so later changes to the objects
 * it refers to cannot alter it, but written as a frame only when a stream first sends it: with
 * no client connected (a busy ingest), most events are never sent at all.
 */
function bufferedEvent(id: number, name: EngineEventName, payload: unknown): Buffered {
  const data = snakeKeys(payload);
  let frame: Uint8Array | undefined;
  return {
    id,
    name,
    at: Date.now(),
    data,
    get frame() {
      // Encoded once, not once per stream: fifty dashboards share one buffer per event.
      frame ??= Buffer.from(frameOf(id, name, data));
      return frame;
    },
  };
}

/** What a stream writes to: a web ReadableStream's queue, or a node ServerResponse (the fast path). */
export interface StreamSink {
  /** Queues one chunk (a frame or a comment) for the client. Never called after `end`. */
  write(chunk: Uint8Array): void;
  /**
   * How many chunks wait behind the client: written, but not yet taken by its connection. The
   * hub ends a stream whose backlog passes `maxQueuedFrames`, so a slow client costs a bounded
   * amount of memory and reconnects with `Last-Event-ID` to replay what it missed.
   */
  backlog(): number;
  /** Ends the stream after what is queued (the hub closed, or the client lagged too far). */
  end(): void;
}

const hello = Buffer.from("retry: 3000\n: connected\n\n");
const ping = Buffer.from(": ping\n\n");

/** Which events a stream receives, and from where it starts. */
export interface StreamOptions {
  roles: readonly Role[];
  types?: ReadonlySet<string>;
  /** Replays the buffered events after this id first. */
  lastEventId?: number;
}

export interface EventHub {
  /**
   * Starts a stream into `sink`: the greeting, the replay after `lastEventId`, then each event
   * the roles may see (and `types` names), with heartbeats. Returns the function that stops it
   * (the client went away); the sink is not ended by it.
   */
  open(options: StreamOptions, sink: StreamSink): () => void;
  readonly clients: number;
  /** The newest buffered events a token with these roles may see, oldest first (the dashboard's backfill). */
  recent(options: {
    roles: readonly Role[];
    limit: number;
  }): { id: number; name: EngineEventName; at: number; data: unknown }[];
  /** Counts events as they pass (for metrics). */
  onEvent(listener: (name: EngineEventName) => void): void;
  close(): void;
}

export interface EventHubOptions {
  bufferSize?: number;
  heartbeatMs?: number;
  /** A stream whose client lags this many frames behind is closed (it reconnects and replays). */
  maxQueuedFrames?: number;
}

export function createEventHub(events: EngineEvents, options: EventHubOptions = {}): EventHub {
  const bufferSize = options.bufferSize ?? 500;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxQueued = options.maxQueuedFrames ?? 5_000;
  const buffer: Buffered[] = [];
  const subscribers = new Set<Subscriber>();
  const closers = new Set<() => void>();
  const eventListeners: ((name: EngineEventName) => void)[] = [];
  let nextId = 1;

  const unbind: (() => void)[] = [];
  for (const name of eventNames) {
    const listener = (payload: EngineEventMap[typeof name]) => {
      const event = bufferedEvent(nextId, name, payload);
      nextId++;
      buffer.push(event);
      if (buffer.length > bufferSize) buffer.shift();
      for (const l of eventListeners) l(name);
      for (const s of subscribers) s(event);
    };
    (events as unknown as { on(n: string, l: (p: unknown) => void): void }).on(
      name,
      listener as (p: unknown) => void,
    );
    unbind.push(() =>
      (events as unknown as { off(n: string, l: (p: unknown) => void): void }).off(
        name,
        listener as (p: unknown) => void,
      ),
    );
  }

  return {
    open({ roles, types, lastEventId }, sink) {
      let open = true;
      let heartbeat: NodeJS.Timeout | undefined;
      const visible = (e: Buffered) => mayReceive(roles, e.name) && (!types || types.has(e.name));
      const stop = () => {
        if (!open) return;
        open = false;
        subscribers.delete(subscriber);
        clearInterval(heartbeat);
        closers.delete(closer);
      };
      const closer = () => {
        stop();
        sink.end();
      };
      const send = (chunk: Uint8Array) => {
        if (!open) return;
        if (sink.backlog() > maxQueued) {
          closer();
          return;
        }
        sink.write(chunk);
      };
      const subscriber: Subscriber = (e) => {
        if (visible(e)) send(e.frame);
      };
      subscribers.add(subscriber);
      closers.add(closer);
      send(hello);
      if (lastEventId !== undefined)
        for (const e of buffer) if (e.id > lastEventId && visible(e)) send(e.frame);
      if (open) {
        heartbeat = setInterval(() => send(ping), heartbeatMs);
        heartbeat.unref();
      }
      return stop;
    },
    get clients() {
      return subscribers.size;
    },
    recent({ roles, limit }) {
      const out: { id: number; name: EngineEventName; at: number; data: unknown }[] = [];
      for (let i = buffer.length - 1; i >= 0 && out.length < limit; i--) {
        const e = buffer[i]!;
        if (mayReceive(roles, e.name)) out.push({ id: e.id, name: e.name, at: e.at, data: e.data });
      }
      return out.reverse();
    },
    onEvent(listener) {
      eventListeners.push(listener);
    },
    close() {
      for (const u of unbind) u();
      for (const c of [...closers]) c();
    },
  };
}
