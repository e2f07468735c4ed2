import { byPriceThenId } from './levels';
import { computeRunway, type ObstacleProbe } from './runway';
import type { BarrierStateName, Direction, Level, LevelKind, MoveDirection } from './signals';

// The candidate order of the plan's runway (nearest first, ties by id), written as the plain repeated scan the
// engine used before it walked a price-sorted universe: the two must pick the same obstacle and probe the same levels.
function reference(level: Level, move: MoveDirection, universe: readonly Level[], probe: ObstacleProbe): Level | null {
  const facing: Direction = move === 'UP' ? 'RESISTANCE' : 'SUPPORT';
  let floor = 0;
  let floorId = '';
  for (;;) {
    let cand: Level | null = null;
    let cd = Infinity;
    for (const l of universe) {
      if (l.id === level.id) continue;
      const beyond = move === 'UP' ? l.price > level.price + 1e-9 : l.price < level.price - 1e-9;
      if (!beyond) continue;
      const d = Math.abs(l.price - level.price);
      if (d < floor || (d === floor && l.id <= floorId)) continue;
      if (d < cd || (d === cd && cand !== null && l.id < cand.id)) {
        cand = l;
        cd = d;
      }
    }
    if (cand === null) return null;
    floor = cd;
    floorId = cand.id;
    const b = probe.barrier(cand, facing);
    if (['CALL_WALL', 'PUT_WALL', 'HVL', 'USER'].includes(cand.kind) || b === 'WALL' || b === 'ABSORPTION' || (cand.kind === 'STRIKE' && probe.strikeHasGamma(cand.price))) return cand;
  }
}

describe('computeRunway candidate order', () => {
  it('equals the nearest-first scan on random universes with ties of distance and price', () => {
    let x = 7;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const kinds: LevelKind[] = ['STRIKE', 'ROUND', 'VWAP', 'CALL_WALL', 'PUT_WALL', 'HVL', 'USER', 'SESSION_HIGH'];
    let obstacles = 0;
    for (let n = 0; n < 2000; n++) {
      const universe: Level[] = [];
      const size = 1 + Math.floor(rnd() * 16);
      for (let i = 0; i < size; i++) {
        // prices on a coarse grid so that equal prices and equal distances on both sides of L occur often
        const price = 540 + Math.floor(rnd() * 20) * 0.5;
        const kind = kinds[Math.floor(rnd() * kinds.length)]!;
        universe.push({ id: `${kind}_${Math.floor(rnd() * 6)}`, price, kind });
      }
      const level = universe[Math.floor(rnd() * universe.length)]!;
      const walls = new Set(universe.filter(() => rnd() < 0.2).map((l) => l.id));
      const gamma = new Set(universe.filter(() => rnd() < 0.2).map((l) => l.price));
      const calls: string[][] = [[], []];
      const probeOf = (log: string[]): ObstacleProbe => ({
        barrier: (l: Level, facing: Direction): BarrierStateName => (log.push(`${l.id}@${l.price}/${facing}`), walls.has(l.id) ? 'WALL' : 'NEUTRAL'),
        strikeHasGamma: (k: number) => gamma.has(k),
      });
      for (const move of ['UP', 'DOWN'] as const) {
        calls[0]!.length = calls[1]!.length = 0;
        const want = reference(level, move, universe, probeOf(calls[0]!));
        const got = computeRunway(level, move, universe, probeOf(calls[1]!));
        expect(got.next_obstacle).toEqual(want ? { id: want.id, price: want.price } : null);
        expect(calls[1]).toEqual(calls[0]);
        // Started from the level's own index in the sorted universe (the engine's walk): the same obstacle and probes.
        const sorted = [...universe].sort(byPriceThenId);
        calls[1]!.length = 0;
        const fromAt = computeRunway(level, move, universe, probeOf(calls[1]!), sorted, undefined, sorted.indexOf(level));
        expect(fromAt.next_obstacle).toEqual(got.next_obstacle);
        expect(calls[1]).toEqual(calls[0]);
        if (want) obstacles++;
      }
    }
    expect(obstacles).toBeGreaterThan(1000);
  });
});
