/**
 * Connections pooled per target and credential. Commands run as channels on pooled connections,
 * at most `maxChannelsPerConnection` at once on each; connections idle for `idleTimeoutMs` are
 * closed; a dropped connection leaves the pool and the next command opens a fresh one.
 */
import { type Logger, rwError } from "@runwarden/core";
import type { Client } from "ssh2";
import type { SshConfig } from "../config.js";
import { openClient, type Settings } from "./connect.js";
import { abortError } from "./errors.js";

/** One pooled connection and the channels open on it. */
export interface Pooled {
  readonly client: Client;
  readonly key: string;
  channels: number;
  closed: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface TargetPool {
  connections: Set<Pooled>;
  opening: number;
  waiters: Set<() => void>;
}

export interface PoolStats {
  targets: number;
  connections: number;
  channels: number;
}

export class SshPool {
  readonly #config: SshConfig;
  readonly #logger: Logger;
  readonly #targets = new Map<string, TargetPool>();
  #closed = false;

  constructor(config: SshConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  /** Takes a channel slot on a pooled connection, opening one if the pool has room, else waits. */
  async acquire(settings: Settings, signal: AbortSignal): Promise<Pooled> {
    const { maxChannelsPerConnection, maxConnectionsPerTarget } = this.#config.pool;
    let target = this.#targets.get(settings.key);
    if (!target) {
      target = { connections: new Set(), opening: 0, waiters: new Set() };
      this.#targets.set(settings.key, target);
    }
    for (;;) {
      if (signal.aborted) throw abortError("waiting for an SSH channel", signal.reason);
      if (this.#closed) throw rwError("RW_ERR_CONNECTOR_REJECTED", "the SSH connector is closed");
      let best: Pooled | undefined;
      for (const pooled of target.connections) {
        if (pooled.closed || pooled.channels >= maxChannelsPerConnection) continue;
        if (!best || pooled.channels < best.channels) best = pooled;
      }
      if (best) {
        this.#take(best);
        return best;
      }
      if (target.connections.size + target.opening < maxConnectionsPerTarget) {
        return this.#open(settings, target, signal);
      }
      await this.#wait(target, signal);
    }
  }

  /** Gives a channel slot back. */
  release(pooled: Pooled): void {
    pooled.channels = Math.max(0, pooled.channels - 1);
    const target = this.#targets.get(pooled.key);
    if (pooled.channels === 0 && !pooled.closed) {
      pooled.idleTimer = setTimeout(() => {
        if (pooled.channels === 0) this.discard(pooled, "idle");
      }, this.#config.pool.idleTimeoutMs);
      pooled.idleTimer.unref();
    }
    if (target) this.#notify(target);
  }

  /** Closes a connection and takes it out of the pool (a drop, an idle timeout, a dead channel). */
  discard(pooled: Pooled, why: string): void {
    if (!pooled.closed) this.#logger.debug({ why }, "ssh connection discarded");
    this.#forget(pooled);
    pooled.client.end();
  }

  stats(): PoolStats {
    let connections = 0;
    let channels = 0;
    for (const target of this.#targets.values()) {
      connections += target.connections.size;
      for (const pooled of target.connections) channels += pooled.channels;
    }
    return { targets: this.#targets.size, connections, channels };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const ended: Promise<void>[] = [];
    for (const target of this.#targets.values()) {
      for (const pooled of target.connections) {
        ended.push(
          new Promise<void>((resolve) => {
            pooled.client.once("close", () => resolve());
            setTimeout(resolve, 1000).unref();
          }),
        );
        this.discard(pooled, "close");
      }
      this.#notify(target);
    }
    this.#targets.clear();
    await Promise.all(ended);
  }

  #take(pooled: Pooled): void {
    pooled.channels++;
    if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
    pooled.idleTimer = undefined;
  }

  async #open(settings: Settings, target: TargetPool, signal: AbortSignal): Promise<Pooled> {
    target.opening++;
    let client: Client;
    const start = performance.now();
    try {
      client = await openClient(settings, this.#config, signal, this.#logger);
    } finally {
      target.opening--;
      // Waiters re-check: they may use the new connection, or open one themselves after a failure.
      this.#notify(target);
    }
    const pooled: Pooled = { client, key: settings.key, channels: 0, closed: false, idleTimer: undefined };
    client.on("close", () => {
      if (!pooled.closed) this.#logger.warn({ target: settings.label }, "ssh connection dropped");
      this.#forget(pooled);
    });
    if (this.#closed) {
      client.end();
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "the SSH connector is closed");
    }
    target.connections.add(pooled);
    this.#take(pooled);
    this.#logger.debug(
      { target: settings.label, latencyMs: Math.round(performance.now() - start) },
      "ssh connection opened",
    );
    this.#notify(target);
    return pooled;
  }

  #forget(pooled: Pooled): void {
    pooled.closed = true;
    if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
    const target = this.#targets.get(pooled.key);
    if (!target) return;
    target.connections.delete(pooled);
    this.#notify(target);
  }

  #wait(target: TargetPool, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        target.waiters.delete(wake);
        resolve();
      };
      const onAbort = () => {
        target.waiters.delete(wake);
        reject(abortError("waiting for an SSH channel", signal.reason));
      };
      target.waiters.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #notify(target: TargetPool): void {
    for (const wake of [...target.waiters]) wake();
  }
}
