/**
 * Signals over LISTEN/NOTIFY. One dedicated connection listens for every topic this instance
 * subscribed to; when it drops, it reconnects with backoff and listens again (signals sent
 * meanwhile are lost: they are hints, and consumers also poll).
 */
import type { Logger, Signals } from "@runwarden/core";
import { checkSignal } from "@runwarden/core";
import pg from "pg";

export class PgSignals implements Signals {
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private client: pg.Client | undefined;
  /** LISTEN/UNLISTEN commands run in order on this chain; publish waits for it. */
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 100;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly notify: (topic: string, payload: string) => Promise<void>,
    private readonly logger: Logger | undefined,
  ) {}

  async publish(topic: string, payload: string): Promise<void> {
    checkSignal(topic, payload);
    await this.chain;
    await this.notify(topic, payload);
  }

  subscribe(topic: string, listener: (payload: string) => void): () => void {
    checkSignal(topic, "");
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
      this.enqueue((client) => client.query(`LISTEN "${topic}"`));
    }
    const entry = (payload: string) => listener(payload);
    set.add(entry);
    return () => {
      if (!set.delete(entry) || set.size > 0 || this.listeners.get(topic) !== set) return;
      this.listeners.delete(topic);
      this.enqueue((client) => client.query(`UNLISTEN "${topic}"`));
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.listeners.clear();
    await this.chain;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private enqueue(command: (client: pg.Client) => Promise<unknown>): void {
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        const fresh = !this.client;
        const client = await this.connect();
        // A fresh connection already listens to every current topic.
        if (!fresh) await command(client);
      })
      .catch((err: unknown) => {
        this.logger?.warn({ err }, "signal listener connection failed");
        this.dropAndRetry();
      });
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client(this.config);
    client.on("notification", (message) => this.dispatch(message.channel, message.payload ?? ""));
    client.on("error", (err) => {
      this.logger?.warn({ err }, "signal listener connection lost");
      if (this.client === client) this.dropAndRetry();
    });
    await client.connect();
    for (const topic of this.listeners.keys()) await client.query(`LISTEN "${topic}"`);
    this.client = client;
    this.retryDelayMs = 100;
    return client;
  }

  private dropAndRetry(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
    if (this.closed || this.listeners.size === 0 || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.enqueue(async () => {});
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 10_000);
  }

  private dispatch(topic: string, payload: string): void {
    for (const listener of [...(this.listeners.get(topic) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        this.logger?.warn({ err, topic }, "signal listener failed");
      }
    }
  }
}
