// Fan-out of §6.4 payloads to WebSocket clients, never blocking the source. Each payload is serialized once. A client
// whose socket has more than `maxBufferedBytes` queued is not written to; instead the newest payload per underlying
// is parked for it (older parked ones are replaced: conflation), and sent once its socket drains. A client that stays
// over the limit for `stallMs` is dropped. The dashboard only ever needs the newest tick, so a slow client sees
// fewer ticks, never stale ones, and the memory it can hold is bounded by the limit plus one payload per underlying.
import type { LevelPhysicsPayload } from '@snap/core';
import { PayloadHistory } from './history';

/** The part of a `ws` WebSocket the broadcaster uses (a structural type so tests can drive the flow control). */
export interface PayloadSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string, cb?: (err?: Error) => void): void;
  terminate(): void;
}

const OPEN = 1;

export interface BroadcasterOptions {
  maxBufferedBytes: number;
  /** Drop a client that has been over the limit this long (wall ms). */
  stallMs?: number;
  /** Wall clock, for stall detection only. */
  nowMs?: () => number;
  /** Event-time minutes of history kept for GET /api/levels/history (gateway.history_minutes; default 0 = none). */
  historyMinutes?: number;
}

export interface BroadcasterStats {
  published: number;
  /** Messages handed to sockets. */
  sent: number;
  /** Payloads that replaced an older parked one for a slow client (the older one was never sent). */
  conflated: number;
  /** Clients dropped for stalling. */
  dropped: number;
}

interface Client {
  ws: PayloadSocket;
  /** Only this underlying, or all. */
  underlying: string | null;
  /** Newest unsent payload per underlying while the socket is over its limit. */
  parked: Map<string, string>;
  /** Since when the socket has been over the limit (null: it is not). */
  overSince: number | null;
}

export class LevelBroadcaster {
  private readonly latest = new Map<string, { payload: LevelPhysicsPayload; json: string }>();
  private readonly clients = new Set<Client>();
  private readonly byWs = new Map<PayloadSocket, Client>();
  private readonly max: number;
  private readonly stallMs: number;
  private readonly now: () => number;
  readonly stats: BroadcasterStats = { published: 0, sent: 0, conflated: 0, dropped: 0 };
  readonly history: PayloadHistory;
  /** The source said it has no more payloads (a finished replay or simulation); the last tick stays served. */
  ended = false;

  constructor(opts: BroadcasterOptions) {
    this.max = opts.maxBufferedBytes;
    this.stallMs = opts.stallMs ?? 30_000;
    this.now = opts.nowMs ?? Date.now;
    this.history = new PayloadHistory(opts.historyMinutes ?? 0);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Latest payload per underlying (what `GET /api/levels` returns). */
  snapshot(): Record<string, LevelPhysicsPayload> {
    return Object.fromEntries([...this.latest].map(([u, v]) => [u, v.payload]));
  }

  latestFor(underlying: string): LevelPhysicsPayload | undefined {
    return this.latest.get(underlying)?.payload;
  }

  /** Registers a socket and sends it the latest payload (of its underlying, or of every underlying). */
  add(ws: PayloadSocket, underlying: string | null = null): void {
    const c: Client = { ws, underlying, parked: new Map(), overSince: null };
    this.clients.add(c);
    this.byWs.set(ws, c);
    for (const [u, v] of this.latest) if (underlying === null || underlying === u) this.deliver(c, u, v.json);
  }

  remove(ws: PayloadSocket): void {
    const c = this.byWs.get(ws);
    if (!c) return;
    this.byWs.delete(ws);
    this.clients.delete(c);
  }

  publish(p: LevelPhysicsPayload): void {
    const json = JSON.stringify(p);
    this.latest.set(p.underlying, { payload: p, json });
    this.history.add(p);
    this.ended = false;
    this.stats.published++;
    for (const c of this.clients) if (c.underlying === null || c.underlying === p.underlying) this.deliver(c, p.underlying, json);
  }

  /**
   * Sends parked payloads to clients whose sockets drained, drops stalled ones. Called after every completed write;
   * call it on a timer as well (the gateway does, every second) so stalls are noticed even with no traffic.
   */
  sweep(): void {
    for (const c of this.clients) this.drain(c);
  }

  private deliver(c: Client, underlying: string, json: string): void {
    if (c.ws.readyState !== OPEN) return;
    if (c.parked.size > 0 || c.ws.bufferedAmount > this.max) {
      if (c.parked.has(underlying)) this.stats.conflated++;
      // Delete first so the Map keeps underlyings in arrival order of their newest payload.
      c.parked.delete(underlying);
      c.parked.set(underlying, json);
      this.drain(c);
      return;
    }
    this.write(c, json);
  }

  private write(c: Client, json: string): void {
    this.stats.sent++;
    c.ws.send(json, (err) => {
      if (err) {
        this.remove(c.ws);
        return;
      }
      // A write completed: the socket's queue shrank, parked payloads may fit now.
      if (c.parked.size > 0) this.drain(c);
    });
  }

  private drain(c: Client): void {
    if (!this.byWs.has(c.ws)) return;
    if (c.ws.readyState !== OPEN) {
      this.remove(c.ws);
      return;
    }
    if (c.ws.bufferedAmount > this.max) {
      const t = this.now();
      c.overSince ??= t;
      if (t - c.overSince >= this.stallMs) {
        this.stats.dropped++;
        this.remove(c.ws);
        c.ws.terminate();
      }
      return;
    }
    c.overSince = null;
    const parked = [...c.parked.values()];
    c.parked.clear();
    for (const json of parked) this.write(c, json);
  }
}
