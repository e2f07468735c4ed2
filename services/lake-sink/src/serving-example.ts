// The read example of docs/features-serving.md, verbatim between the markers (a unit test keeps the two equal; an
// integration test runs it against the real Redis sink). Plain ioredis commands only, so it ports line for line to
// any client (redis-py: zrange / pipeline().hgetall).
import type Redis from 'ioredis';

// example:start
export interface LiveLevelFeatures {
  levelId: string;
  tsEventNs: bigint;
  session: string;
  /** Every field of the level's hash as stored (strings); numbers parse with Number(). */
  fields: Record<string, string>;
}

/**
 * The live levels of one underlying and their latest features. Rows of another session, or older than `maxAgeMs`
 * of event time before `nowMs`, are rejected (a sink that fell behind must not feed a model stale features).
 */
export async function readServingFeatures(
  redis: Redis,
  underlying: string,
  opts: { keyPrefix?: string; session?: string; maxAgeMs?: number; nowMs?: number } = {},
): Promise<LiveLevelFeatures[]> {
  const index = `${opts.keyPrefix ?? 'snap:'}levels:{${underlying}}`;
  const ids = await redis.zrange(index, '0', '-1'); // live level ids
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hgetall(`${index}:${id}`);
  const replies = (await pipe.exec()) ?? [];
  const out: LiveLevelFeatures[] = [];
  replies.forEach(([err, reply], i) => {
    if (err) throw err;
    const fields = reply as Record<string, string>;
    if (!fields.ts_event_ns) return; // expired or retired between ZRANGE and HGETALL
    const tsEventNs = BigInt(fields.ts_event_ns);
    if (opts.session !== undefined && fields.session !== opts.session) return;
    if (opts.maxAgeMs !== undefined && Number(tsEventNs / 1_000_000n) < (opts.nowMs ?? Date.now()) - opts.maxAgeMs) return;
    out.push({ levelId: ids[i]!, tsEventNs, session: fields.session!, fields });
  });
  return out;
}
// example:end
