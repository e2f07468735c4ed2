import fc from 'fast-check';
import { formatEventLine, parseEventLine } from '../event-json';
import { fnv1a64 } from '../event-id';
import type { FuturesMbp10, GreeksSnapshot, InputEvent, OptionTrade, StockQuote, StockTrade } from '../events';
import { blackScholes } from './black-scholes';
import { mulberry32 } from './rng';
import { SCENARIOS } from './scenarios';
import { simulateSession, simulateToJsonl } from './session';

const session = (seed: number, durationMs: number) => [...simulateSession({ seed, durationMs })];

describe('seeded PRNG', () => {
  it('is reproducible and roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 10_000 }, () => b.next()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});

describe('Black–Scholes', () => {
  it('satisfies put–call parity and has the textbook greeks signs', () => {
    const t = 3 / (24 * 365);
    const c = blackScholes(680.3, 680, t, 0.15, 'C');
    const p = blackScholes(680.3, 680, t, 0.15, 'P');
    expect(c.price - p.price).toBeCloseTo(680.3 - 680, 6);
    expect(c.delta - p.delta).toBeCloseTo(1, 6);
    expect(c.gamma).toBeCloseTo(p.gamma, 12);
    expect(c.gamma).toBeGreaterThan(0.1); // 0DTE ATM gamma is large
    expect(c.theta).toBeLessThan(0);
    expect(c.vega).toBeGreaterThan(0);
  });
});

describe('simulateSession', () => {
  const events = session(7, 120_000);

  it('same seed ⇒ identical events, byte for byte (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const a = session(seed, 8000).map(formatEventLine);
        const b = session(seed, 8000).map(formatEventLine);
        expect(a).toEqual(b);
        expect(a.length).toBeGreaterThan(50);
      }),
      { numRuns: 8 },
    );
    expect(session(1, 8000).map(formatEventLine)).not.toEqual(session(2, 8000).map(formatEventLine));
  });

  it('emits every schema with valid sim envelopes, non-decreasing ts per stream, and round-trips through JSONL', () => {
    const schemas = new Set(events.map((e) => e.schema));
    expect([...schemas].sort()).toEqual(['futures.mbp10.v1', 'futures.trades.v1', 'heartbeat.v1', 'options.greeks_snapshots.v1', 'options.trades.v1', 'stocks.quotes.v1', 'stocks.trades.v1']);
    const last = new Map<string, bigint>();
    const ids = new Set<string>();
    events.forEach((e, i) => {
      expect(e.source).toBe('sim');
      expect(e.key).toBe('SPY');
      expect(e.ts_recv_ns).toBeGreaterThan(e.ts_event_ns);
      expect(e.ts_recv_ns - e.ts_event_ns).toBeLessThan(1_000_000n);
      const prev = last.get(e.schema);
      if (prev !== undefined) expect(e.ts_event_ns).toBeGreaterThanOrEqual(prev);
      last.set(e.schema, e.ts_event_ns);
      ids.add(e.event_id);
      expect(parseEventLine(formatEventLine(e), i + 1)).toEqual(e.schema === 'futures.mbp10.v1' ? expect.objectContaining({ event_id: e.event_id }) : e);
    });
    expect(ids.size).toBe(events.length); // event ids are unique
  });

  it('prints are aggressor-consistent with the NBBO in force, and quotes are never crossed', () => {
    let q: StockQuote | null = null;
    let checked = 0;
    for (const e of events) {
      if (e.schema === 'stocks.quotes.v1') {
        expect(e.ask_px).toBeGreaterThan(e.bid_px);
        expect(e.bid_sz).toBeGreaterThan(0);
        q = e;
      } else if (e.schema === 'stocks.trades.v1' && q) {
        const t = e as StockTrade;
        // An aggressive order prints at the touch it takes (or beyond it when it walks the book).
        expect(t.price <= q.bid_px + 1e-9 || t.price >= q.ask_px - 1e-9).toBe(true);
        expect(t.exchange).not.toBeNull();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('ES MBP-10 has 10 levels on a 0.25 tick with F_LAST, and tracks 10·SPY + basis', () => {
    let spyMid: number | null = null;
    let n = 0;
    for (const e of events) {
      if (e.schema === 'stocks.quotes.v1') spyMid = (e.bid_px + e.ask_px) / 2;
      if (e.schema !== 'futures.mbp10.v1' || spyMid === null) continue;
      const m = e as FuturesMbp10;
      expect(m.bid_px).toHaveLength(10);
      expect(m.ask_sz).toHaveLength(10);
      expect(m.flags & 0x80).toBe(0x80);
      for (const p of [...m.bid_px, ...m.ask_px]) expect(Math.abs(p / 0.25 - Math.round(p / 0.25))).toBeLessThan(1e-9);
      for (let i = 1; i < 10; i++) {
        expect(m.bid_px[i]!).toBeLessThan(m.bid_px[i - 1]!);
        expect(m.ask_px[i]!).toBeGreaterThan(m.ask_px[i - 1]!);
      }
      expect(m.ask_px[0]!).toBeGreaterThan(m.bid_px[0]!);
      const esMid = (m.bid_px[0]! + m.ask_px[0]!) / 2;
      // Default basis 15 points, drifting by a few 0.05 steps at most in two minutes.
      expect(Math.abs(esMid - (10 * spyMid + 15))).toBeLessThan(1);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it('option trades carry opt_bid/opt_ask and an aggressor consistent with them; greeks snapshots share a content-hash id', () => {
    const trades = events.filter((e): e is OptionTrade => e.schema === 'options.trades.v1');
    expect(trades.length).toBeGreaterThan(50);
    for (const t of trades) {
      expect(t.opt_bid).not.toBeNull();
      expect(t.opt_ask!).toBeGreaterThan(t.opt_bid!);
      if (t.aggressor === 1) expect(t.price).toBe(t.opt_ask);
      if (t.aggressor === -1) expect(t.price).toBe(t.opt_bid);
      expect(t.option_symbol).toMatch(/^O:SPY\d{6}[CP]\d{8}$/);
      expect(t.exp_date).toBe('2025-12-22'); // 0DTE
    }
    const snaps = new Map<string, GreeksSnapshot[]>();
    for (const e of events) if (e.schema === 'options.greeks_snapshots.v1') snaps.set(e.snapshot_id, [...(snaps.get(e.snapshot_id) ?? []), e]);
    expect(snaps.size).toBe(9); // every 15 s over 120 s, the first at t=0 (+ the one at 120 s is not reached)
    for (const [id, rows] of snaps) {
      expect(rows).toHaveLength(42); // 21 strikes × C/P
      expect(new Set(rows.map((r) => r.ts_event_ns)).size).toBe(1);
      const content = `${rows[0]!.ts_event_ns}|` + rows.map((r) => `${r.option_symbol}:${r.delta}:${r.gamma}:${r.theta}:${r.vega}:${r.implied_volatility}`).join(';');
      expect(id).toBe(fnv1a64(content));
      for (const r of rows) expect(r.right === 'C' ? r.delta > 0 && r.delta < 1 : r.delta < 0 && r.delta > -1).toBe(true);
    }
  });

  it('simulateToJsonl writes exactly the session events as event lines', () => {
    const lines: string[] = [];
    const sum = simulateToJsonl({ seed: 7, durationMs: 120_000 }, (l) => lines.push(l));
    expect(lines).toEqual(events.map(formatEventLine));
    expect(sum.events).toBe(events.length);
    expect(sum.firstNs).toBe(events[0]!.ts_event_ns);
    expect(sum.bySchema['stocks.quotes.v1']).toBe(events.filter((e: InputEvent) => e.schema === 'stocks.quotes.v1').length);
  });
});

describe('scripted scenarios: ground truth is physical', () => {
  it.each(SCENARIOS.map((d) => [d.name, d] as const))('%s: what price did at the level matches the label (seeds 1–2)', (_n, def) => {
    for (const seed of [1, 2]) {
      const s = def.build(seed);
      expect(s.observed).toBe(s.expected);
      if (s.expected !== 'NONE') {
        expect(s.touchNs).not.toBeNull();
        expect(s.tEventNs).toBeGreaterThan(s.touchNs!);
      }
      // Deterministic: the same seed builds the same scenario.
      if (seed === 1) expect(def.build(seed).events.map(formatEventLine)).toEqual(s.events.map(formatEventLine));
    }
  });
});
