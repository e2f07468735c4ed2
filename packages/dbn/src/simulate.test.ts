import { FLAGS, Mbp10Msg, TradeMsg, UNDEF_PRICE, encodeDbn, esSimMetadata, readDbn, simulateEs, toNormalizedEvents, EsSimStep } from './index';

const OPTS = { seed: 42, startNs: 1_768_487_400_000_000_000n, durationNs: 120_000_000_000n };

function run(opts = OPTS): EsSimStep[] {
  return [...simulateEs(opts)];
}

describe('simulated ES session', () => {
  const steps = run();
  const mbp = steps.flatMap((s) => s.mbp10);
  const trades = steps.flatMap((s) => s.trades);

  it('is deterministic per seed and differs across seeds', () => {
    expect(run()).toEqual(steps);
    expect(run({ ...OPTS, seed: 43 })).not.toEqual(steps);
  });

  it('has a realistic volume of book events and trades over 2 minutes at 20 events/s', () => {
    expect(mbp.length).toBeGreaterThan(2000);
    expect(trades.length).toBeGreaterThan(200);
  });

  it('starts with a clear, then snapshot adds, the last one F_LAST', () => {
    const first = steps[0]!.mbp10;
    expect(first[0]).toMatchObject({ action: 'R', flags: FLAGS.F_SNAPSHOT, price: UNDEF_PRICE });
    expect(first[0]!.levels.every((l) => l.bid_px === UNDEF_PRICE && l.ask_px === UNDEF_PRICE)).toBe(true);
    expect(first.slice(1).every((r) => r.action === 'A' && (r.flags & FLAGS.F_SNAPSHOT) !== 0)).toBe(true);
    expect(first.at(-1)!.flags).toBe(FLAGS.F_SNAPSHOT | FLAGS.F_LAST);
    expect(first.at(-1)!.levels.every((l) => l.bid_px !== UNDEF_PRICE && l.ask_px !== UNDEF_PRICE)).toBe(true);
  });

  it('every step ends with F_LAST and only there; sequences increase; ts_recv follows ts_event', () => {
    const bad: string[] = [];
    let seq = -1;
    let ts = 0n;
    for (const s of steps) {
      s.mbp10.forEach((r, i) => {
        if (((r.flags & FLAGS.F_LAST) !== 0) !== (i === s.mbp10.length - 1)) bad.push(`F_LAST @${r.sequence}`);
        if (!(r.sequence > seq)) bad.push(`sequence @${r.sequence}`);
        if (!(r.ts_event >= ts)) bad.push(`ts_event @${r.sequence}`);
        if (!(r.ts_recv > r.ts_event)) bad.push(`ts_recv @${r.sequence}`);
        seq = r.sequence;
        ts = r.ts_event;
      });
    }
    expect(bad).toEqual([]);
  });

  it('books at F_LAST are consistent: uncrossed, sorted on a 0.25 grid, sizes ≥ counts ≥ 1', () => {
    // Violations are collected and compared once: an expect() per level would dominate the test's run time.
    const bad: string[] = [];
    for (const r of mbp.slice(21).filter((x) => x.flags & FLAGS.F_LAST)) {
      const L = r.levels;
      if (!(L[0]!.bid_px < L[0]!.ask_px)) bad.push(`crossed @${r.sequence}`);
      for (let i = 0; i < 10; i++) {
        const l = L[i]!;
        if (l.bid_px % 250_000_000n !== 0n || l.ask_px % 250_000_000n !== 0n) bad.push(`off-grid @${r.sequence}/${i}`);
        if (i > 0 && !(l.bid_px < L[i - 1]!.bid_px && l.ask_px > L[i - 1]!.ask_px)) bad.push(`unsorted @${r.sequence}/${i}`);
        if (!(l.bid_sz >= l.bid_ct && l.ask_sz >= l.ask_ct && l.bid_ct >= 1 && l.ask_ct >= 1)) bad.push(`sizes @${r.sequence}/${i}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('each trade matches an MBP-10 Trade record at the touched level; the book loses the traded size in Cancel records', () => {
    const stepsWithTrades = steps.filter((s) => s.trades.length > 0);
    expect(stepsWithTrades.length).toBeGreaterThan(100);
    let prev: Mbp10Msg | undefined;
    for (const s of steps) {
      if (s.trades.length > 0) {
        const tRecs = s.mbp10.filter((r) => r.action === 'T');
        expect(tRecs.map((r) => [r.sequence, r.price, r.size, r.side])).toEqual(s.trades.map((t: TradeMsg) => [t.sequence, t.price, t.size, t.side]));
        const first = s.trades[0]!;
        const before = prev!.levels[0]!;
        // a buy (B) lifts the best ask, a sell (A) hits the best bid
        expect(first.price).toBe(first.side === 'B' ? before.ask_px : before.bid_px);
        const cancels = s.mbp10.filter((r) => r.action === 'C');
        expect(cancels.reduce((a, r) => a + r.size, 0)).toBe(s.trades.reduce((a, t) => a + t.size, 0));
        expect(cancels.every((c) => c.side !== first.side)).toBe(true);
        // Trade records do not change the book
        for (const r of tRecs) expect(r.levels).toEqual(prev!.levels);
      }
      prev = s.mbp10.at(-1);
    }
  });

  it('moves the price (trends and reversals) rather than staying put', () => {
    const mids = mbp.filter((r) => r.flags & FLAGS.F_LAST).slice(1).map((r) => Number(r.levels[0]!.bid_px + r.levels[0]!.ask_px) / 2e9);
    expect(Math.max(...mids) - Math.min(...mids)).toBeGreaterThan(1);
  });

  it('round-trips through DBN v3 with continuous ES.c.0 metadata and normalizes to events', async () => {
    const meta = esSimMetadata(OPTS, 'mbp-10');
    expect(meta).toMatchObject({ dataset: 'GLBX.MDP3', stype_in: 'continuous', symbols: ['ES.c.0'], version: 3 });
    expect(meta.mappings[0]!.intervals).toEqual([{ start_date: '2026-01-15', end_date: '2026-01-16', symbol: '42140878' }]);
    const r = await readDbn(encodeDbn(meta, mbp));
    expect(r.records).toEqual(mbp);
    const events = toNormalizedEvents(r.records, r.metadata!, { underlying: 'SPY', symbolRoot: 'ES' });
    expect(events).toHaveLength(mbp.length);
    expect(events[0]!.symbol).toBe('ES.c.0');
    expect(events[0]).toMatchObject({ is_snapshot: true });
  });
});
