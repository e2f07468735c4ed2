// Latest features per level in Redis, for online ML serving (DESIGN decision 3: compare-and-set on event time, so a
// replay or a late consumer never regresses them).
//
// Key layout (prefix = redis.key_prefix, default `snap:`; docs/features-serving.md):
//   <prefix>levels:{<underlying>}:<level_id>  HASH  every SignalRow field as a string (null fields absent), plus
//                                                   `session` (New York date of the session the tick belongs to)
//   <prefix>levels:{<underlying>}             ZSET  member level_id, score = ts_event_ns in ms of its hash
// The braces are a Redis Cluster hash tag: every key of one underlying lives in one slot, so the CAS script may
// touch a level's hash and the underlying's index atomically on a cluster too.
//
// The index lists only LIVE levels: the engine writes a row for every monitored level at every snap tick, so once a
// tick of an underlying is complete, a level whose last row is older than that tick is no longer monitored (retired,
// or left behind by a session change) and PRUNE_SCRIPT removes it from the index and deletes its hash. A level whose
// hash expired (redis.ttl_s after its last write: the feed stopped) is removed from the index by the same script.
import { sessionKeyOf, type SignalRow } from '@snap/core';
import { SIGNAL_ROW_COLUMNS } from '@snap/platform';
import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';

export const levelKey = (keyPrefix: string, underlying: string, levelId: string): string => `${keyPrefix}levels:{${underlying}}:${levelId}`;
export const levelIndexKey = (keyPrefix: string, underlying: string): string => `${keyPrefix}levels:{${underlying}}`;

/**
 * Does an incoming event time replace the stored one? Yes when it is at least as new (≥): re-applying the same row
 * (a replay) rewrites identical values, an older row never wins. Times are non-negative decimal strings of ns since
 * the epoch; they are compared as strings (length, then digits) because Redis' Lua numbers are doubles, which cannot
 * tell two nanosecond timestamps ~1.7e18 apart. The Lua script below implements exactly this.
 */
export function casWins(stored: string | null, incoming: string): boolean {
  if (stored === null) return true;
  if (incoming.length !== stored.length) return incoming.length > stored.length;
  return incoming >= stored;
}

/**
 * KEYS[1] level hash, KEYS[2] underlying index. ARGV[1] ts_event_ns, ARGV[2] ttl seconds (0 = none),
 * ARGV[3] level_id, ARGV[4] index score (ms), ARGV[5..] field, value pairs. Returns 1 when written, 0 when stale.
 * The hash is replaced, not merged, so a field that became null does not keep its old value.
 */
export const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'ts_event_ns')
local new = ARGV[1]
if cur then
  if string.len(cur) > string.len(new) then return 0 end
  if string.len(cur) == string.len(new) and cur > new then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
`;

/**
 * KEYS[1] underlying index. ARGV[1] score (ms) of the newest complete tick, ARGV[2] the level hash key prefix
 * (`<prefix>levels:{U}:`). Removes from the index, and deletes the hash of, every level last written before that
 * tick, and drops index members whose hash has expired. Returns the level ids removed. The hash keys are built in
 * the script: they share the index's hash tag, so they live in its slot on a cluster too.
 */
export const PRUNE_SCRIPT = `
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, id in ipairs(gone) do redis.call('DEL', ARGV[2] .. id) end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then table.insert(gone, id) end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return gone
`;

export class FeatureError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'FeatureError';
  }
}

export type SessionAnchor = 'session' | 'rth_open';

/**
 * SignalRow → hash fields (strings). Numbers use JS's shortest round-trip form; null fields are left out. `session`
 * is the row's session (levels.vwap_anchor rule, core's sessionKeyOf), so a reader can reject another session's row.
 */
export function rowToHash(row: SignalRow, anchor: SessionAnchor = 'session'): Record<string, string> {
  if (row.ts_event_ns < 0n) throw new FeatureError(`ts_event_ns must be non-negative, got ${row.ts_event_ns}`, row.level_id, 'ts_event_ns');
  const out: Record<string, string> = {};
  for (const c of SIGNAL_ROW_COLUMNS) {
    const v = (row as unknown as Record<string, unknown>)[c.name];
    if (v === null || v === undefined) continue;
    out[c.name] = typeof v === 'bigint' ? v.toString() : String(v);
  }
  out.session = sessionKeyOf(row.ts_event_ns, anchor);
  return out;
}

/** Hash fields → SignalRow; a missing non-nullable field or an unparseable value names the key and field. */
export function hashToRow(key: string, h: Record<string, string>): SignalRow {
  const out: Record<string, unknown> = {};
  for (const c of SIGNAL_ROW_COLUMNS) {
    const s = h[c.name];
    if (s === undefined) {
      if (!c.nullable) throw new FeatureError(`${key}: field ${c.name} is missing`, key, c.name);
      out[c.name] = null;
      continue;
    }
    switch (c.type) {
      case 'int64':
        if (!/^-?\d+$/.test(s)) throw new FeatureError(`${key}: field ${c.name}=${JSON.stringify(s)} is not an integer`, key, c.name);
        out[c.name] = BigInt(s);
        break;
      case 'int32':
      case 'int16':
      case 'int8':
        if (!/^-?\d+$/.test(s)) throw new FeatureError(`${key}: field ${c.name}=${JSON.stringify(s)} is not an integer`, key, c.name);
        out[c.name] = Number(s);
        break;
      case 'float64': {
        const n = Number(s);
        if (Number.isNaN(n) && s !== 'NaN') throw new FeatureError(`${key}: field ${c.name}=${JSON.stringify(s)} is not a number`, key, c.name);
        out[c.name] = n;
        break;
      }
      case 'bool':
        if (s !== 'true' && s !== 'false') throw new FeatureError(`${key}: field ${c.name}=${JSON.stringify(s)} is not true/false`, key, c.name);
        out[c.name] = s === 'true';
        break;
      default:
        out[c.name] = s;
    }
  }
  return out as unknown as SignalRow;
}

/**
 * The newest row per (underlying, level_id) of a batch, by the same rule as the script (a later row with an equal
 * time wins), so a batch costs one script call per level instead of one per row.
 */
export function newestPerLevel(rows: readonly SignalRow[]): SignalRow[] {
  const best = new Map<string, SignalRow>();
  for (const r of rows) {
    const k = `${r.underlying}\u0000${r.level_id}`;
    const cur = best.get(k);
    if (!cur || casWins(cur.ts_event_ns.toString(), r.ts_event_ns.toString())) best.set(k, r);
  }
  return [...best.values()];
}

const NS_PER_MS = 1_000_000n;

export interface FeatureWriterOptions {
  keyPrefix: string;
  /** 0 = no expiry. */
  ttlSeconds?: number;
  /** levels.vwap_anchor: how a row's session is named (default 'session', 04:00 ET). */
  sessionAnchor?: SessionAnchor;
}

export interface FeatureWriteResult {
  /** Levels whose hash was replaced. */
  written: number;
  /** Levels where the stored row was newer (replay / late consumer). */
  stale: number;
}

type RedisWithCas = Redis & { snapFeatureCas(...args: (string | number)[]): Promise<number>; snapFeaturePrune(...args: (string | number)[]): Promise<string[]> };
type PipelineWithCas = ChainableCommander & { snapFeatureCas(...args: (string | number)[]): ChainableCommander };

/** Writes the latest features per level: one pipelined CAS script call per level per batch. */
export class RedisFeatureWriter {
  private readonly redis: RedisWithCas;
  constructor(
    redis: Redis,
    readonly opts: FeatureWriterOptions,
  ) {
    // defineCommand uses EVALSHA and falls back to EVAL when the script cache was flushed.
    if (!(redis as unknown as Partial<RedisWithCas>).snapFeatureCas) redis.defineCommand('snapFeatureCas', { numberOfKeys: 2, lua: CAS_SCRIPT });
    if (!(redis as unknown as Partial<RedisWithCas>).snapFeaturePrune) redis.defineCommand('snapFeaturePrune', { numberOfKeys: 1, lua: PRUNE_SCRIPT });
    this.redis = redis as unknown as RedisWithCas;
  }

  async write(rows: readonly SignalRow[]): Promise<FeatureWriteResult> {
    const latest = newestPerLevel(rows);
    if (!latest.length) return { written: 0, stale: 0 };
    const pipe = this.redis.pipeline() as PipelineWithCas;
    for (const r of latest) {
      const fields = Object.entries(rowToHash(r, this.opts.sessionAnchor)).flat();
      pipe.snapFeatureCas(
        levelKey(this.opts.keyPrefix, r.underlying, r.level_id),
        levelIndexKey(this.opts.keyPrefix, r.underlying),
        r.ts_event_ns.toString(),
        String(this.opts.ttlSeconds ?? 0),
        r.level_id,
        (r.ts_event_ns / NS_PER_MS).toString(),
        ...fields,
      );
    }
    const res = await pipe.exec();
    if (!res) throw new FeatureError('redis pipeline was discarded', levelIndexKey(this.opts.keyPrefix, latest[0]!.underlying));
    let written = 0;
    let stale = 0;
    res.forEach(([err, v], i) => {
      const r = latest[i]!;
      if (err) throw new FeatureError(`CAS write of ${levelKey(this.opts.keyPrefix, r.underlying, r.level_id)} failed: ${err.message}`, levelKey(this.opts.keyPrefix, r.underlying, r.level_id));
      if (v === 1) written++;
      else stale++;
    });
    return { written, stale };
  }

  /**
   * Removes from `underlying`'s index (and deletes) every level last written before the complete tick at
   * `tickTsNs`, and members whose hash expired. Returns the level ids removed.
   */
  async prune(underlying: string, tickTsNs: bigint): Promise<string[]> {
    return this.redis.snapFeaturePrune(levelIndexKey(this.opts.keyPrefix, underlying), (tickTsNs / NS_PER_MS).toString(), `${levelKey(this.opts.keyPrefix, underlying, '')}`);
  }
}

/** The latest features of every level of an underlying, sorted by level_id (levels whose hash expired are skipped). */
export async function readLatestFeatures(redis: Redis, underlying: string, opts: { keyPrefix?: string } = {}): Promise<SignalRow[]> {
  const prefix = opts.keyPrefix ?? 'snap:';
  const ids = (await redis.zrange(levelIndexKey(prefix, underlying), '0', '-1')).sort();
  if (!ids.length) return [];
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hgetall(levelKey(prefix, underlying, id));
  const res = (await pipe.exec()) ?? [];
  const out: SignalRow[] = [];
  res.forEach(([err, h], i) => {
    const key = levelKey(prefix, underlying, ids[i]!);
    if (err) throw new FeatureError(`HGETALL ${key} failed: ${err.message}`, key);
    const hash = h as Record<string, string>;
    if (Object.keys(hash).length) out.push(hashToRow(key, hash));
  });
  return out;
}

/** One level's latest features, or null. */
export async function readLevelFeatures(redis: Redis, underlying: string, levelId: string, opts: { keyPrefix?: string } = {}): Promise<SignalRow | null> {
  const key = levelKey(opts.keyPrefix ?? 'snap:', underlying, levelId);
  const h = await redis.hgetall(key);
  return Object.keys(h).length ? hashToRow(key, h) : null;
}
