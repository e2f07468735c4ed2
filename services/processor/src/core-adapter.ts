// The processor's only contact with the pure core's engine and merge classes, so the rest of the shell codes against
// two small interfaces.
import { DeterministicMerge, SnapEngine, underlyingConfig, type Config, type InputEvent, type LevelPhysicsPayload } from '@snap/core';

export interface EngineLike {
  push(ev: InputEvent): LevelPhysicsPayload[];
  snapshot(): unknown;
  /** snapshot() to be written out later (the live background snapshot): see SnapEngine.capture. */
  capture(): unknown;
}

export interface MergeLike<T> {
  push(stream: string, tsNs: bigint, offset: bigint, item: T): void;
  advance(stream: string, tsNs: bigint): void;
  release(): T[];
  drain(): T[];
}

// Each underlying runs with its own barrier source and futures contract (futures.*): QQQ reads NQ through its own
// multiplier, never ES's.
export const createEngine = (cfg: Config, underlying: string): EngineLike => new SnapEngine(underlyingConfig(cfg, underlying), underlying);

export const restoreEngine = (cfg: Config, underlying: string, snap: unknown): EngineLike =>
  SnapEngine.restore(underlyingConfig(cfg, underlying), snap as Parameters<typeof SnapEngine.restore>[1]);

/**
 * One merge stream per input topic. Every item of a stream carries the stream's rank (its data schema's rank), also
 * heartbeats and poison records: then a stream's items release in offset order, which is what makes
 * "first unreleased offset" a valid committed offset.
 */
export function createMerge<T>(streams: readonly { stream: string; rank: number }[]): MergeLike<T> & { rankOf(stream: string): number } {
  const ranks = new Map(streams.map((s) => [s.stream, s.rank]));
  const m = new DeterministicMerge<{ rank: number; item: T }>(
    streams.map((s) => s.stream),
    (x) => x.rank,
  );
  return {
    rankOf: (stream) => ranks.get(stream)!,
    push: (stream, tsNs, offset, item) => m.push(stream, tsNs, offset, { rank: ranks.get(stream)!, item }),
    advance: (stream, tsNs) => m.advance(stream, tsNs),
    release: () => m.release().map((x) => x.item),
    drain: () => m.drain().map((x) => x.item),
  };
}
