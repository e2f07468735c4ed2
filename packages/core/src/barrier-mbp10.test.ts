import { parseConfig, type Config } from './config';
import { BasisEstimator } from './basis';
import { Mbp10BarrierEngine } from './barrier-mbp10';
import { DBN_FLAGS, type InputEvent } from './events';
import type { Level } from './signals';
import { book, esTrade, ms } from './test-support';

// Book: bids 5452.00 (best) … 5449.75, asks 5452.25 …; SPY mid fixed so that basis = esMid − 10·spyMid.
const SPY_MID = 545.1;
const ES_BEST_BID = 5452.0;

function setup(cfgRaw: object = {}): { cfg: Config; basis: BasisEstimator; e: Mbp10BarrierEngine; levelAt: (esPrice: number) => Level } {
  const cfg = parseConfig({ barrier: { source: 'mbp10', f_thresh_futures: 50, zone_ticks: 2, z_thresh: 0 }, ...cfgRaw });
  const basis = new BasisEstimator(cfg.basis);
  basis.onSpyMid(SPY_MID, ms(0));
  const e = new Mbp10BarrierEngine(cfg, basis);
  // The SPY level whose mapped ES price is exactly esPrice under the current basis.
  const levelAt = (esPrice: number): Level => ({ id: 'L', price: basis.toUnderlying(esPrice)!, kind: 'STRIKE' });
  return { cfg, basis, e, levelAt };
}

const feed = (e: Mbp10BarrierEngine, evs: InputEvent[]): void => evs.forEach((ev) => e.onEvent(ev, { tNs: ev.ts_event_ns }));

/** Bid sizes with the 5 zone levels around 5451.00 (indices 2..6 = 5451.50 … 5450.50) set to `zone`. */
const bids = (zone: number, other = 100): number[] => Array.from({ length: 10 }, (_, i) => (i >= 2 && i <= 6 ? zone : other));

describe('basis (DESIGN decision 4)', () => {
  it('maps SPY ↔ ES through k·SPY + basis', () => {
    const { basis, e } = setup();
    feed(e, [book(0, ES_BEST_BID, 100, 100)]);
    const esMid = ES_BEST_BID + 0.125;
    expect(basis.basis).toBeCloseTo(esMid - 10 * SPY_MID, 9);
    expect(basis.toFutures(545)).toBeCloseTo(5450 + esMid - 10 * SPY_MID, 9);
    expect(basis.toUnderlying(basis.toFutures(543.21)!)).toBeCloseTo(543.21, 9);
  });
  it('smooths the basis with an EWMA of half-life basis.half_life_ms', () => {
    const cfg = parseConfig({ basis: { half_life_ms: 1000 } });
    const b = new BasisEstimator(cfg.basis);
    b.onSpyMid(500, ms(0));
    b.onFuturesMid(5010, ms(0)); // basis 10
    b.onFuturesMid(5014, ms(1000)); // sample 14, one half-life later → halfway
    expect(b.basis).toBeCloseTo(12, 9);
    expect(b.toFutures(500)).toBeCloseTo(5012, 9);
    expect(new BasisEstimator(cfg.basis).toFutures(500)).toBeNull();
  });
});

describe('MBP-10 barrier (§5.1.1)', () => {
  it('depth lost without passive volume is pulled → VACUUM', () => {
    const { e, levelAt } = setup();
    feed(e, [book(0, ES_BEST_BID, bids(100), 100), book(100, ES_BEST_BID, bids(60), 100), book(200, ES_BEST_BID, bids(20), 100)]);
    const r = e.read(levelAt(5451.0), 'SUPPORT', ms(300));
    expect(r).toMatchObject({ state: 'VACUUM', added: 0, filled: 0, canceled: 400, passive_volume: 0, caveats: [] });
    expect(r.defending).toEqual({ price: 5451.0, size: 100 });
  });

  it('depth lost with SELL-initiated volume in the zone is filled → CONSUMED', () => {
    const { e, levelAt } = setup();
    feed(e, [
      book(0, ES_BEST_BID, bids(100), 100),
      esTrade(50, 5451.0, 150, -1),
      esTrade(60, 5450.75, 150, -1),
      book(100, ES_BEST_BID, bids(40), 100),
      esTrade(150, 5451.0, 30, 1), // BUY-initiated: consumes asks, not bids
    ]);
    const r = e.read(levelAt(5451.0), 'SUPPORT', ms(300));
    expect(r).toMatchObject({ state: 'CONSUMED', filled: 300, canceled: 0, passive_volume: 300 });
  });

  it('inferred_filled = min(depth_lost, Vpassive), inferred_pulled = the rest', () => {
    const { e, levelAt } = setup();
    feed(e, [book(0, ES_BEST_BID, bids(100), 100), esTrade(50, 5451.0, 100, -1), book(100, ES_BEST_BID, bids(20), 100)]);
    expect(e.read(levelAt(5451.0), 'SUPPORT', ms(300))).toMatchObject({ filled: 100, canceled: 300, delta_liq: -400, state: 'VACUUM' });
  });

  it('passive volume ≫ depth lost, more than the zone ever displayed, reads as hidden/iceberg ABSORPTION', () => {
    const { e, levelAt } = setup();
    feed(e, [
      book(0, ES_BEST_BID, bids(100), 100),
      esTrade(50, 5451.0, 300, -1),
      esTrade(80, 5450.75, 300, -1),
      book(100, ES_BEST_BID, bids(95), 100), // lost only 25 of 500 displayed while 600 traded into the bids
    ]);
    const r = e.read(levelAt(5451.0), 'SUPPORT', ms(300));
    expect(r.state).toBe('ABSORPTION');
    expect(r.passive_volume).toBe(600);
  });

  it('a queue merely being hit (less traded than displayed) is not read as absorption', () => {
    const { e, levelAt } = setup();
    feed(e, [
      book(0, ES_BEST_BID, bids(100), 100),
      esTrade(50, 5451.0, 200, -1),
      esTrade(80, 5450.75, 200, -1),
      book(100, ES_BEST_BID, bids(95), 100), // 400 traded, 475 still displayed: no evidence of hidden size
    ]);
    const r = e.read(levelAt(5451.0), 'SUPPORT', ms(300));
    expect(r.state).toBe('NEUTRAL');
    expect(r.passive_volume).toBe(400);
  });

  it('heavy churn with stable depth lowers confidence (CHURN caveat), not the state', () => {
    const { e, levelAt } = setup();
    const evs: InputEvent[] = [book(0, ES_BEST_BID, bids(100), 100)];
    for (let i = 1; i <= 10; i++) {
      evs.push(book(i * 20, ES_BEST_BID, bids(130), 100));
      evs.push(book(i * 20 + 10, ES_BEST_BID, bids(100), 100));
    }
    feed(e, evs);
    const r = e.read(levelAt(5451.0), 'SUPPORT', ms(300));
    expect(r.churn).toBe(2 * 10 * 5 * 30);
    expect(r.delta_liq).toBe(0);
    expect(r.caveats).toContain('CHURN');
    expect(r.state).toBe('NEUTRAL');
  });

  it('a zone outside the 10 displayed levels is OUT_OF_RANGE → NEUTRAL', () => {
    const { e, levelAt } = setup();
    feed(e, [book(0, ES_BEST_BID, bids(100), 100), book(100, ES_BEST_BID, bids(10), 100)]);
    const r = e.read(levelAt(5440.0), 'SUPPORT', ms(200));
    expect(r.state).toBe('NEUTRAL');
    expect(r.caveats).toEqual(['OUT_OF_RANGE']);
    // the asks of the same price are "known" (0: below the best ask), so RESISTANCE there is in range
    expect(e.read(levelAt(5440.0), 'RESISTANCE', ms(200)).caveats).toEqual([]);
  });

  it('records without F_LAST do not change the book reading', () => {
    const { e, levelAt } = setup();
    feed(e, [book(0, ES_BEST_BID, bids(100), 100), book(100, ES_BEST_BID, bids(10), 100, 0)]);
    expect(e.read(levelAt(5451.0), 'SUPPORT', ms(200))).toMatchObject({ state: 'NEUTRAL', canceled: 0, churn: 0 });
    feed(e, [book(150, ES_BEST_BID, bids(10), 100, DBN_FLAGS.F_LAST)]);
    expect(e.read(levelAt(5451.0), 'SUPPORT', ms(200))).toMatchObject({ state: 'VACUUM', canceled: 450 });
  });

  it('F_MAYBE_BAD_BOOK holds the book (BAD_BOOK caveat) until a whole book returns, with no deltas across the gap', () => {
    const { e, levelAt } = setup();
    feed(e, [book(0, ES_BEST_BID, bids(100), 100), book(100, ES_BEST_BID, bids(10), 100, DBN_FLAGS.F_LAST | DBN_FLAGS.F_MAYBE_BAD_BOOK)]);
    let r = e.read(levelAt(5451.0), 'SUPPORT', ms(200));
    expect(r.caveats).toContain('BAD_BOOK');
    expect(r.canceled).toBe(0);
    feed(e, [book(300, ES_BEST_BID, bids(5), 100)]);
    r = e.read(levelAt(5451.0), 'SUPPORT', ms(400));
    expect(r.caveats).not.toContain('BAD_BOOK');
    expect(r).toMatchObject({ canceled: 0, added: 0, state: 'NEUTRAL' });
    expect(r.defending?.size).toBe(25);
  });

  it('without a basis or a book the reading is NEUTRAL with NO_BOOK', () => {
    const cfg = parseConfig({ barrier: { source: 'mbp10' } });
    const e = new Mbp10BarrierEngine(cfg, new BasisEstimator(cfg.basis));
    expect(e.read({ id: 'X', price: 545, kind: 'ROUND' }, 'SUPPORT', ms(0))).toMatchObject({ state: 'NEUTRAL', caveats: ['NO_BOOK'] });
  });

  it('ignores other futures symbols and evicts by W_b', () => {
    const { e, levelAt } = setup();
    feed(e, [book(0, ES_BEST_BID, bids(100), 100), book(100, ES_BEST_BID, bids(10), 100, DBN_FLAGS.F_LAST, 0.25, 'NQM4')]);
    expect(e.read(levelAt(5451.0), 'SUPPORT', ms(200)).canceled).toBe(0);
    feed(e, [book(300, ES_BEST_BID, bids(10), 100)]);
    expect(e.read(levelAt(5451.0), 'SUPPORT', ms(400)).canceled).toBe(450);
    e.onTick(ms(5400));
    expect(e.read(levelAt(5451.0), 'SUPPORT', ms(5400)).canceled).toBe(0);
    expect(e.state.deltas).toHaveLength(0);
  });
});
