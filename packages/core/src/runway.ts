// Room to run (plan §5.5). Direction of the expected move: BREAK → the break direction, REJECT → the bounce
// direction; CONTESTED/NEUTRAL → the side the smoothed score leans to (≥ 50 break, else bounce), so every row has a
// runway. Next obstacle = the nearest level of the universe strictly beyond L in that direction that can hold price
// (issue 9): a CALL_WALL, PUT_WALL or HVL, a USER hot zone, a STRIKE where dealers hold gamma (|dealer gamma flow at
// that strike over W_wall| > fuel.neutral_gamma), or any level whose barrier facing the move (RESISTANCE when moving
// up, SUPPORT when moving down) reads WALL or ABSORPTION. Round numbers, VWAP, session extremes and strikes without
// gamma carry nothing by themselves and are skipped (they stood at every half dollar, so the runway used to be the
// next half dollar whatever the book said). runway = |obstacle − L|; none beyond → null distance, CLEAR.
// Quality: OBSTRUCTED when the obstacle is a wall level or its barrier reads WALL/ABSORPTION (a strong wall stands at
// the end of the runway), else CLEAR.
import type { Direction, Level, LevelKind, LevelSignal, MoveDirection, RunwayQuality, SignalName, BarrierStateName } from './signals';
import { byPriceThenId } from './levels';
import { bounceDirectionOf, breakDirectionOf } from './score';

export function runwayDirection(signal: SignalName, direction: Direction, smoothScore: number): MoveDirection {
  if (signal === 'BREAK') return breakDirectionOf(direction);
  if (signal === 'REJECT') return bounceDirectionOf(direction);
  return smoothScore >= 50 ? breakDirectionOf(direction) : bounceDirectionOf(direction);
}

/** What the runway asks about a candidate obstacle. */
export interface ObstacleProbe {
  /** Barrier state of the level facing the move. */
  barrier(obstacle: Level, facing: Direction): BarrierStateName;
  /** Does the strike hold dealer gamma? */
  strikeHasGamma(strike: number): boolean;
}

// Kinds tested by comparison, not a Set: a Set of strings hashes the kind on every candidate of every row.
const isWallKind = (k: LevelKind): boolean => k === 'CALL_WALL' || k === 'PUT_WALL';
const isHoldingKind = (k: LevelKind): boolean => k === 'CALL_WALL' || k === 'PUT_WALL' || k === 'HVL' || k === 'USER';

const run: Level[] = [];

export function computeRunway(
  level: Level,
  move: MoveDirection,
  universe: readonly Level[],
  probe: ObstacleProbe,
  /** The universe in levels.ts's order (byPriceThenId), as the engine's universe already is. */
  sorted: readonly Level[] = [...universe].sort(byPriceThenId),
  /** Refilled and returned instead of a new runway when given (the engine's per-row scratch; next_obstacle is then the
   *  obstacle Level itself, read for its id and price). */
  out?: LevelSignal['runway'],
  /** The index of `level` in `sorted` when the caller knows it (the engine walks its universe by index): the walk
   *  away from L starts there. Entries before it are priced at or below L and entries after it at or above, so none
   *  of them can be strictly beyond L on the far side, and the scan finds the same first candidate. */
  at = -1,
): LevelSignal['runway'] {
  const facing: Direction = move === 'UP' ? 'RESISTANCE' : 'SUPPORT';
  let next: Level | null = null;
  let nextBarrier: BarrierStateName | null = null;
  // Candidates in (distance, id) order, nearest first: walking the price-sorted universe away from L, the distance
  // never decreases (float subtraction is monotone), so only a run of equal distances needs ordering by id.
  const up = move === 'UP';
  const n = sorted.length;
  let i = at >= 0 && at < n && sorted[at] === level ? at : 0;
  if (up) while (i < n && !(sorted[i]!.price > level.price + 1e-9)) i++;
  else {
    if (!(at >= 0 && at < n && sorted[at] === level)) i = n - 1;
    while (i >= 0 && !(sorted[i]!.price < level.price - 1e-9)) i--;
  }
  const step = up ? 1 : -1;
  let lastD = -1;
  let lastId = '';
  walk: while (i >= 0 && i < n) {
    const d = Math.abs(sorted[i]!.price - level.price);
    // The run of candidates at distance d, by id (scratch by count: no array truncation per run).
    let nRun = 0;
    for (; i >= 0 && i < n && Math.abs(sorted[i]!.price - level.price) === d; i += step) {
      const l = sorted[i]!;
      if (l.id === level.id) continue;
      let j = nRun++;
      while (j > 0 && l.id < run[j - 1]!.id) {
        run[j] = run[j - 1]!;
        j--;
      }
      run[j] = l;
    }
    for (let r = 0; r < nRun; r++) {
      const cand = run[r]!;
      // The same (distance, id) twice is one candidate.
      if (d === lastD && cand.id === lastId) continue;
      lastD = d;
      lastId = cand.id;
      const b = probe.barrier(cand, facing);
      if (isHoldingKind(cand.kind) || b === 'WALL' || b === 'ABSORPTION' || (cand.kind === 'STRIKE' && probe.strikeHasGamma(cand.price))) {
        next = cand;
        nextBarrier = b;
        break walk;
      }
    }
  }
  const quality: RunwayQuality = next !== null && (isWallKind(next.kind) || nextBarrier === 'WALL' || nextBarrier === 'ABSORPTION') ? 'OBSTRUCTED' : 'CLEAR';
  const distance = next === null ? null : Math.abs(next.price - level.price);
  if (out === undefined) return { direction: move, next_obstacle: next === null ? null : { id: next.id, price: next.price }, distance, quality };
  out.direction = move;
  out.next_obstacle = next;
  out.distance = distance;
  out.quality = quality;
  return out;
}
