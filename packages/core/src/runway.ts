// Room to run (plan §5.5). Direction of the expected move: BREAK → the break direction, REJECT → the bounce
// direction; CONTESTED/NEUTRAL → the side the smoothed score leans to (≥ 50 break, else bounce), so every row has a
// runway. Next obstacle = the nearest level of the universe strictly beyond L in that direction (the universe, not
// only the monitored levels, so a runway exists beyond the monitor band); runway = |obstacle − L|.
// Quality: OBSTRUCTED when a strong wall stands at the end of the runway — the obstacle is a CALL_WALL/PUT_WALL
// level, or its barrier reading (facing the move: RESISTANCE when moving up, SUPPORT when moving down) is WALL or
// ABSORPTION — else CLEAR. (By construction no other level lies strictly between L and the nearest obstacle, so
// "a strong wall in between" is decided at the obstacle itself.)
import type { Direction, Level, LevelSignal, MoveDirection, RunwayQuality, SignalName, BarrierStateName } from './signals';
import { bounceDirectionOf, breakDirectionOf } from './score';

export function runwayDirection(signal: SignalName, direction: Direction, smoothScore: number): MoveDirection {
  if (signal === 'BREAK') return breakDirectionOf(direction);
  if (signal === 'REJECT') return bounceDirectionOf(direction);
  return smoothScore >= 50 ? breakDirectionOf(direction) : bounceDirectionOf(direction);
}

export function computeRunway(
  level: Level,
  move: MoveDirection,
  universe: readonly Level[],
  barrierAt: (obstacle: Level, facing: Direction) => BarrierStateName,
): LevelSignal['runway'] {
  let next: Level | null = null;
  for (const l of universe) {
    if (l.id === level.id) continue;
    const beyond = move === 'UP' ? l.price > level.price + 1e-9 : l.price < level.price - 1e-9;
    if (!beyond) continue;
    if (
      next === null ||
      Math.abs(l.price - level.price) < Math.abs(next.price - level.price) ||
      (Math.abs(l.price - level.price) === Math.abs(next.price - level.price) && l.id < next.id)
    ) {
      next = l;
    }
  }
  if (!next) return { direction: move, next_obstacle: null, distance: null, quality: 'CLEAR' };
  let quality: RunwayQuality = 'CLEAR';
  if (next.kind === 'CALL_WALL' || next.kind === 'PUT_WALL') quality = 'OBSTRUCTED';
  else {
    const b = barrierAt(next, move === 'UP' ? 'RESISTANCE' : 'SUPPORT');
    if (b === 'WALL' || b === 'ABSORPTION') quality = 'OBSTRUCTED';
  }
  return { direction: move, next_obstacle: { id: next.id, price: next.price }, distance: Math.abs(next.price - level.price), quality };
}
