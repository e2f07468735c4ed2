import { parseConfig, defaultConfig } from './config';
import { byPriceThenId, dedupByPrice, LevelUniverse, nyOffsetMinutes, sessionKeyOf } from './levels';
import type { Level, LevelKind } from './signals';
import { ms } from './test-support';

const noWalls = { call_wall: null, put_wall: null, hvl: null };
const ids = (u: LevelUniverse) => u.levels.map((l) => l.id);

describe('level universe (§4)', () => {
  it('builds rounds, half-rounds near spot and strikes with stable ids, one level per price, ordered by price', () => {
    const u = new LevelUniverse(defaultConfig());
    u.update(545.3, ms(0), noWalls);
    const l = u.levels;
    expect(l.map((x) => x.price)).toEqual([...l.map((x) => x.price)].sort((a, b) => a - b));
    expect(new Set(l.map((x) => x.price)).size).toBe(l.length);
    expect(ids(u)).toEqual(expect.arrayContaining(['STRIKE_540', 'STRIKE_545', 'STRIKE_550', 'ROUND_544.5', 'ROUND_545.5']));
    expect(ids(u)).not.toContain('ROUND_546.5'); // half-steps only within one round_step of spot
    expect(ids(u)).not.toContain('ROUND_545'); // same price as STRIKE_545: the strike is kept
    expect(l.find((x) => x.id === 'STRIKE_545')!.kind).toBe('STRIKE');
    expect(l.find((x) => x.id === 'ROUND_545.5')).toEqual({ id: 'ROUND_545.5', price: 545.5, kind: 'ROUND' });
  });

  it('rounds beyond the strikes keep ROUND ids; hotzones are USER levels', () => {
    const u = new LevelUniverse(parseConfig({ levels: { strike_count: 1, round_step: 2, hotzones: [544.25] } }));
    u.update(545.3, ms(0), noWalls);
    expect(ids(u)).toEqual(expect.arrayContaining(['ROUND_542', 'ROUND_548', 'STRIKE_544', 'STRIKE_546', 'HOTZONE_544.25']));
    expect(u.levels.find((x) => x.id === 'HOTZONE_544.25')!.kind).toBe('USER');
  });

  it('adds VWAP, session high/low and the fuel walls; walls win a shared price', () => {
    const u = new LevelUniverse(defaultConfig());
    u.onTrade(545.0, 100, ms(0));
    u.onTrade(546.2, 300, ms(10));
    u.update(545.5, ms(100), { call_wall: 547, put_wall: 543, hvl: 544 });
    const byId = Object.fromEntries(u.levels.map((l) => [l.id, l]));
    expect(byId.VWAP!.price).toBeCloseTo((545 * 100 + 546.2 * 300) / 400, 4);
    expect(byId.SESSION_HIGH!.price).toBe(546.2);
    expect(byId.SESSION_LOW!.price).toBe(545.0);
    expect(byId.CALL_WALL).toEqual({ id: 'CALL_WALL', price: 547, kind: 'CALL_WALL' });
    expect(byId.PUT_WALL!.price).toBe(543);
    expect(byId.HVL!.price).toBe(544);
    expect(byId.STRIKE_547).toBeUndefined();
    expect(byId.STRIKE_544).toBeUndefined();
    expect(byId.STRIKE_545).toBeUndefined(); // SESSION_LOW took 545.0
  });

  it('refreshes on the refresh_ms cadence and immediately when a wall moves', () => {
    const u = new LevelUniverse(parseConfig({ levels: { refresh_ms: 2000 } }));
    u.update(545.3, ms(0), noWalls);
    const before = ids(u);
    u.update(548.3, ms(1000), noWalls); // spot moved but not due: frozen
    expect(ids(u)).toEqual(before);
    u.update(548.3, ms(1500), { ...noWalls, call_wall: 550 }); // wall change: rebuilt now
    expect(ids(u)).toContain('CALL_WALL');
    expect(ids(u)).toContain('STRIKE_553');
    u.update(540.3, ms(2000), { ...noWalls, call_wall: 550 });
    expect(ids(u)).toContain('STRIKE_553'); // 500 ms after the wall rebuild: not due yet
    u.update(540.3, ms(3500), { ...noWalls, call_wall: 550 });
    expect(ids(u)).toContain('STRIKE_535');
  });

  it('resets VWAP and extremes at the session anchor in New York time (DST aware)', () => {
    expect(nyOffsetMinutes(Date.UTC(2024, 2, 10, 6, 59))).toBe(-300);
    expect(nyOffsetMinutes(Date.UTC(2024, 2, 10, 7, 0))).toBe(-240);
    expect(nyOffsetMinutes(Date.UTC(2024, 10, 3, 5, 59))).toBe(-240);
    expect(nyOffsetMinutes(Date.UTC(2024, 10, 3, 6, 0))).toBe(-300);
    const ns = (d: number) => BigInt(d) * 1_000_000n;
    expect(sessionKeyOf(ns(Date.UTC(2024, 4, 13, 7, 59)), 'session')).toBe('2024-05-12'); // 03:59 EDT
    expect(sessionKeyOf(ns(Date.UTC(2024, 4, 13, 8, 0)), 'session')).toBe('2024-05-13'); // 04:00 EDT
    expect(sessionKeyOf(ns(Date.UTC(2024, 4, 13, 13, 29)), 'rth_open')).toBe('2024-05-12');
    expect(sessionKeyOf(ns(Date.UTC(2024, 4, 13, 13, 30)), 'rth_open')).toBe('2024-05-13');
    const u = new LevelUniverse(defaultConfig());
    u.onTrade(500, 100, ns(Date.UTC(2024, 4, 13, 19, 0)));
    u.onTrade(540, 100, ns(Date.UTC(2024, 4, 14, 9, 0)));
    expect(u.vwap).toBe(540);
    expect(u.state.high).toBe(540);
  });
});

describe('dedupByPrice', () => {
  // The rule as it was written before: a Map by price keeping the higher priority, then the smaller id (the first on
  // a full tie), then sorted by price and id.
  const PRIORITY: Record<LevelKind, number> = { CALL_WALL: 0, PUT_WALL: 1, HVL: 2, VWAP: 3, USER: 4, SESSION_HIGH: 5, SESSION_LOW: 6, STRIKE: 7, ROUND: 8 };
  function reference(levels: readonly Level[]): Level[] {
    const byPrice = new Map<number, Level>();
    for (const l of levels) {
      const prev = byPrice.get(l.price);
      if (!prev || PRIORITY[l.kind] < PRIORITY[prev.kind] || (PRIORITY[l.kind] === PRIORITY[prev.kind] && l.id < prev.id)) byPrice.set(l.price, l);
    }
    return [...byPrice.values()].sort(byPriceThenId);
  }

  it('keeps the same level objects, in the same order, as a Map by price and a sort, on random candidate lists', () => {
    let x = 11;
    const rnd = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const kinds = Object.keys(PRIORITY) as LevelKind[];
    for (let n = 0; n < 3000; n++) {
      const levels: Level[] = [];
      const size = Math.floor(rnd() * 30);
      for (let i = 0; i < size; i++) {
        // A coarse grid: shared prices, shared kinds and full ties (same id, price and kind) occur often.
        const kind = kinds[Math.floor(rnd() * kinds.length)]!;
        levels.push({ id: `${kind}_${Math.floor(rnd() * 3)}`, price: 540 + Math.floor(rnd() * 12) * 0.25, kind });
      }
      const want = reference(levels);
      const got = dedupByPrice([...levels]);
      expect(got.length).toBe(want.length);
      got.forEach((l, i) => expect(l).toBe(want[i]));
    }
  });
});
