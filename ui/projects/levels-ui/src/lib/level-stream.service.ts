// One WebSocket to the gateway's /ws/levels, §6.4 payloads in, signals out. Reconnects with capped exponential backoff
// and jitter; on every (re)connect it asks GET /api/levels/history for what it missed, so a reload or a late joiner
// sees the session so far. Payloads are applied at most once per animation frame: a replay at 30× sends ~120 ticks/s
// and a trader's screen needs only the newest one per frame (history keeps one point per second anyway).
import { Injectable, InjectionToken, NgZone, OnDestroy, computed, inject, signal } from '@angular/core';
import { Subject } from 'rxjs';
import { pushPoint, toHistoryPoint } from './points';
import { eventMs, type FeedState, type HistoryPoint, type LevelEvent, type LevelHistory, type LevelPhysicsPayload } from './types';

export interface LevelStreamConfig {
  /** Base URL of the gateway (default: the page's origin). */
  baseUrl: string;
  /** Only this underlying (default: every underlying the gateway serves). */
  underlying: string | null;
  /** gateway.token, when the gateway requires one (browsers cannot set headers on a WebSocket). */
  token: string | null;
  /** No payload for this long (wall ms) on an open socket: the feed is shown as delayed (or ended, if the gateway says so). */
  staleAfterMs: number;
  /** Backoff bounds (ms) for reconnecting. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** History points kept per underlying in the browser (one per second of event time). */
  maxPoints: number;
  /** Events kept (newest first). */
  maxEvents: number;
}

export const LEVEL_STREAM_CONFIG = new InjectionToken<Partial<LevelStreamConfig>>('LEVEL_STREAM_CONFIG');

const DEFAULTS: LevelStreamConfig = {
  baseUrl: '',
  underlying: null,
  token: null,
  staleAfterMs: 3000,
  minBackoffMs: 500,
  maxBackoffMs: 10_000,
  maxPoints: 6 * 3600,
  maxEvents: 500,
};

@Injectable({ providedIn: 'root' })
export class LevelStreamService implements OnDestroy {
  private readonly cfg: LevelStreamConfig = { ...DEFAULTS, ...(inject(LEVEL_STREAM_CONFIG, { optional: true }) ?? {}) };
  private readonly zone = inject(NgZone);

  /** The feed as the trader should read it. */
  readonly state = signal<FeedState>('connecting');
  /** Seconds until the next reconnect attempt (while down). */
  readonly retryInS = signal(0);
  readonly underlyings = signal<string[]>([]);
  readonly selected = signal<string | null>(this.cfg.underlying);
  private readonly latestBy = signal<ReadonlyMap<string, LevelPhysicsPayload>>(new Map());
  /** Newest payload of the selected underlying. */
  readonly latest = computed(() => {
    const u = this.selected();
    return u ? (this.latestBy().get(u) ?? null) : null;
  });
  /** BREAK/REJECT events of every underlying, newest first (history first, then live). */
  readonly events = signal<LevelEvent[]>([]);
  /** Bumped whenever a history buffer changed (the buffers themselves are mutable arrays: see historyOf). */
  readonly revision = signal(0);
  /** Events as they arrive live (not those replayed from history): what alerts are raised for. */
  readonly liveEvents = new Subject<LevelEvent>();

  private readonly points = new Map<string, HistoryPoint[]>();
  private readonly seenEvents = new Set<string>();
  private ws: WebSocket | null = null;
  private backoff = this.cfg.minBackoffMs;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private countdown: ReturnType<typeof setInterval> | null = null;
  private readonly staleTimer: ReturnType<typeof setInterval>;
  private lastMessageAt = 0;
  private pending: LevelPhysicsPayload[] = [];
  private frame = 0;
  private stopped = false;
  private healthAsked = 0;

  constructor() {
    this.staleTimer = setInterval(() => this.checkStale(), 500);
    this.connect();
  }

  /** The history points (oldest first) of an underlying; read inside a reactive context together with revision(). */
  historyOf(underlying: string): readonly HistoryPoint[] {
    return this.points.get(underlying) ?? [];
  }

  select(underlying: string): void {
    this.selected.set(underlying);
  }

  ngOnDestroy(): void {
    this.stopped = true;
    clearInterval(this.staleTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.countdown) clearInterval(this.countdown);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.ws?.close();
  }

  private url(path: string, extra: Record<string, string> = {}): string {
    const base = this.cfg.baseUrl || location.origin;
    const u = new URL(path, base.endsWith('/') ? base : `${base}/`);
    if (this.cfg.underlying) u.searchParams.set('underlying', this.cfg.underlying);
    if (this.cfg.token) u.searchParams.set('token', this.cfg.token);
    for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
    return u.toString();
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.url('ws/levels').replace(/^http/, 'ws'));
    this.ws = ws;
    this.state.set('connecting');
    ws.onopen = () => {
      this.backoff = this.cfg.minBackoffMs;
      this.lastMessageAt = Date.now();
      this.state.set('live');
      void this.loadHistory();
    };
    ws.onmessage = (ev: MessageEvent) => {
      let p: LevelPhysicsPayload;
      try {
        p = JSON.parse(String(ev.data)) as LevelPhysicsPayload;
      } catch (e) {
        console.error('levels-ui: a message on /ws/levels is not JSON', e);
        return;
      }
      if (!p || typeof p.underlying !== 'string' || !Array.isArray(p.levels) || !p.spy) return;
      this.lastMessageAt = Date.now();
      this.pending.push(p);
      // Events must not be conflated away with their tick: record them now.
      for (const e of p.events ?? []) this.addEvent(e, true);
      this.schedule();
    };
    ws.onclose = () => {
      if (this.ws === ws) this.scheduleReconnect();
    };
    ws.onerror = () => ws.close();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = Math.round(this.backoff * (0.8 + Math.random() * 0.4));
    this.backoff = Math.min(this.backoff * 2, this.cfg.maxBackoffMs);
    const until = Date.now() + wait;
    const tick = () => this.retryInS.set(Math.max(0, Math.ceil((until - Date.now()) / 1000)));
    tick();
    this.state.set('down');
    this.countdown = setInterval(tick, 250);
    this.retryTimer = setTimeout(() => {
      if (this.countdown) clearInterval(this.countdown);
      this.retryTimer = null;
      this.connect();
    }, wait);
  }

  private checkStale(): void {
    const s = this.state();
    if (s !== 'live' && s !== 'delayed' && s !== 'ended') return;
    const quiet = Date.now() - this.lastMessageAt > this.cfg.staleAfterMs;
    if (!quiet) {
      if (s !== 'live') this.state.set('live');
      return;
    }
    // Quiet: either the source lags or it is done. The gateway's /healthz knows which (feed: "ended").
    if (Date.now() - this.healthAsked < 2000) return;
    this.healthAsked = Date.now();
    // A hung gateway must not hang the answer: no reply within 2 s reads as delayed.
    fetch(this.url('healthz'), { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json() as Promise<{ feed?: string }>)
      .then((h) => {
        if (this.state() === 'down' || Date.now() - this.lastMessageAt <= this.cfg.staleAfterMs) return;
        this.state.set(h.feed === 'ended' ? 'ended' : 'delayed');
      })
      .catch(() => {
        if (this.state() !== 'down') this.state.set('delayed');
      });
  }

  private async loadHistory(): Promise<void> {
    // Ask from the oldest point we might be missing: everything after our newest point, or the whole window.
    let from = 0;
    for (const pts of this.points.values()) if (pts.length) from = Math.max(from, pts.at(-1)!.ts);
    try {
      const r = await fetch(this.url('api/levels/history', { from: String(from) }));
      if (!r.ok) return; // an older gateway without history: the screen fills from the live stream
      const body = (await r.json()) as { history: LevelHistory[] };
      for (const h of body.history) {
        const mine = this.points.get(h.underlying) ?? [];
        // Live points that arrived while the request was in flight are newer than the history's: merge by second.
        const bySecond = new Map<number, HistoryPoint>();
        for (const pt of h.points) bySecond.set(Math.floor(pt.ts / 1000), pt);
        for (const pt of mine) bySecond.set(Math.floor(pt.ts / 1000), pt);
        const merged = [...bySecond.values()].sort((a, b) => a.ts - b.ts);
        this.points.set(h.underlying, merged.slice(-this.cfg.maxPoints));
        this.addUnderlying(h.underlying);
        for (const e of h.events) this.addEvent(e, false);
      }
      this.revision.update((n) => n + 1);
    } catch (e) {
      console.warn('levels-ui: history not loaded', e);
    }
  }

  private addUnderlying(u: string): void {
    if (!this.underlyings().includes(u)) this.underlyings.update((us) => [...us, u].sort());
    if (!this.selected()) this.selected.set(u);
  }

  private addEvent(e: LevelEvent, live: boolean): void {
    if (this.seenEvents.has(e.event_id)) return;
    this.seenEvents.add(e.event_id);
    this.events.update((es) => {
      const out = [e, ...es].sort((a, b) => eventMs(b) - eventMs(a));
      return out.length > this.cfg.maxEvents ? out.slice(0, this.cfg.maxEvents) : out;
    });
    if (live) this.liveEvents.next(e);
  }

  private schedule(): void {
    // A hidden tab gets no animation frames: do not let payloads pile up meanwhile.
    if (this.pending.length >= 500) {
      if (this.frame) cancelAnimationFrame(this.frame);
      this.frame = 0;
      this.flush();
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.zone.run(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
    const latest = new Map(this.latestBy());
    for (const p of batch) {
      let pts = this.points.get(p.underlying);
      if (!pts) this.points.set(p.underlying, (pts = []));
      pushPoint(pts, toHistoryPoint(p), this.cfg.maxPoints);
      const prev = latest.get(p.underlying);
      if (!prev || p.ts >= prev.ts) latest.set(p.underlying, p);
      this.addUnderlying(p.underlying);
    }
    this.latestBy.set(latest);
    this.revision.update((n) => n + 1);
  }
}
