// DBN files → futures.mbp10.v1 / futures.trades.v1 records (key = the underlying the data serves), through the same
// sink as every feed. A corrupt or truncated file yields all of its good records, then one dead letter naming the
// byte offset, and the replay goes on with the next file (DESIGN decision 5).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { InputEvent } from '@snap/core';
import { DbnError, DbnNormalizer, decodeDbn, type DbnMetadata, type DbnRecord } from '@snap/dbn';
import { createLogger, type Logger } from '@snap/platform';
import type { ReplayPacer } from './pacing';
import type { ProgressReporter } from './progress';
import { ResumePoint } from './resume';
import type { FeedSink } from './sink';

/** Maps the decoded DBN records of one file to normalized events, in stream order. */
export type DbnEventMapper = (records: AsyncIterable<DbnRecord>, metadata: DbnMetadata, opts: { underlying: string; path: string }) => AsyncIterable<InputEvent>;

/** @snap/dbn's normalizer, streaming: one MBP-10 book per record (flags kept), trades from trades/tbbo files. */
export function dbnEventMapper(symbolRoot: string): DbnEventMapper {
  return async function* (records, metadata, { underlying }) {
    const n = new DbnNormalizer(metadata, { underlying, symbolRoot });
    for await (const r of records) yield* n.push(r);
  };
}

export interface DbnFeedOptions {
  files: readonly string[];
  underlying: string;
  sink: FeedSink & { flush(): Promise<void>; guard?: { snapshot(): Record<string, string> }; heartbeats?: { snapshot(): Record<string, string> } | null; offsetsSnapshot?: () => Record<string, string> };
  /** Default: dbnEventMapper(symbolRoot). */
  normalize?: DbnEventMapper;
  /** Symbol for instruments the file's symbology does not name (config basis.futures_symbol, e.g. ES). */
  symbolRoot?: string;
  pacer?: ReplayPacer;
  progress?: ProgressReporter;
  resume?: ResumePoint;
  /** Save the resume point after this many records (after a flush, so it only ever names acknowledged records). */
  checkpointEvery?: number;
  shouldStop?: () => boolean;
  logger?: Logger;
}

export interface DbnFileResult {
  path: string;
  /** Records produced from this file in this run. */
  produced: number;
  /** Records skipped because the resume point says they were produced before. */
  skipped: number;
  /** Set when the file was corrupt or truncated: the decoder's code and the first bad byte's offset. */
  error?: { code: string; offset: number; message: string };
  /** The whole file was already done per the resume point. */
  alreadyDone?: boolean;
}

export interface DbnFeedResult {
  files: DbnFileResult[];
  stopped: boolean;
}

/** At most this many raw bytes from the bad offset go into the dead letter (enough to inspect, bounded). */
const RAW_SNIPPET = 4096;

interface Cursor {
  path: string;
  order: number;
  result: DbnFileResult;
  events: AsyncIterator<InputEvent> | null;
  head: InputEvent | null;
  /** Normalized records of this file consumed so far (skipped + produced). */
  index: number;
  skip: number;
  lastTs: bigint | null;
  done: boolean;
}

/**
 * Replays the files as ONE event-time-ordered stream: a k-way merge on ts_event_ns (ties: the order the files were
 * given), so an mbp-10 file and a trades file of the same session interleave as they happened. Replaying them one
 * after the other instead would make the second file late against the first file's heartbeats.
 * The resume point records, per file, how many of its records were produced; the merge is deterministic, so a
 * restart that skips those reproduces the same remaining order.
 */
export async function runDbnFeed(opts: DbnFeedOptions): Promise<DbnFeedResult> {
  const log = opts.logger ?? createLogger({ name: 'feeds.dbn' });
  const every = opts.checkpointEvery ?? 5000;
  const mapper = opts.normalize ?? dbnEventMapper(opts.symbolRoot ?? 'ES');
  const cursors: Cursor[] = [];

  const checkpoint = async () => {
    if (!opts.resume) return;
    await opts.sink.flush();
    for (const c of cursors) {
      if (c.result.alreadyDone) continue;
      opts.resume.record(c.path, { index: c.index, ts_event_ns: c.lastTs === null ? opts.resume.position(c.path).ts_event_ns : c.lastTs.toString(), done: c.done });
    }
    opts.resume.save(opts.sink.guard?.snapshot() ?? {}, opts.sink.heartbeats?.snapshot() ?? {}, opts.sink.offsetsSnapshot?.());
  };

  const fail = async (c: Cursor, e: DbnError) => {
    c.done = true;
    c.head = null;
    c.result.error = { code: e.code, offset: e.offset, message: e.message };
    log.error('dbn decode error: the good records before the offset are produced, the other files go on', { path: c.path, code: e.code, offset: e.offset, compressed: e.opts.compressed ?? false, error: e.message, produced: c.result.produced });
    await opts.sink.deadLetter({
      reason: e.message,
      raw: rawSnippet(c.path, e),
      source: 'feeds.dbn',
      key: opts.underlying,
      ts_event_ns: c.lastTs ?? undefined,
      error_class: `DbnError.${e.code}`,
      error_path: `byte_offset:${e.offset}${e.opts.compressed && e.code !== 'ZSTD' ? ' (decompressed stream)' : ''}`,
      source_topic: `file:${c.path}`,
      source_offset: BigInt(e.offset),
    });
  };

  /** Moves a cursor to its next record to produce (past any the resume point says were produced). */
  const advance = async (c: Cursor) => {
    try {
      for (;;) {
        const n = await c.events!.next();
        if (n.done) {
          c.done = true;
          c.head = null;
          log.info('dbn file produced', { path: c.path, produced: c.result.produced, skipped: c.result.skipped });
          return;
        }
        if (c.index < c.skip) {
          c.index++;
          c.result.skipped++;
          continue;
        }
        c.head = n.value;
        return;
      }
    } catch (e) {
      if (!(e instanceof DbnError)) throw e;
      await fail(c, e);
    }
  };

  for (const [order, path] of opts.files.entries()) {
    const pos = opts.resume?.position(path) ?? { index: 0, ts_event_ns: null, done: false };
    const c: Cursor = { path, order, result: { path, produced: 0, skipped: 0 }, events: null, head: null, index: 0, skip: pos.index, lastTs: null, done: false };
    cursors.push(c);
    if (pos.done) {
      log.info('dbn file already produced (resume point); skipping it', { path, records: pos.index });
      Object.assign(c.result, { skipped: pos.index, alreadyDone: true });
      c.done = true;
      continue;
    }
    try {
      const items = decodeDbn(path);
      const first = await items.next();
      if (first.done || first.value.type !== 'metadata') throw new DbnError('TRUNCATED', 0, 'no DBN metadata in input', { path });
      const metadata = first.value.metadata;
      async function* records(): AsyncGenerator<DbnRecord> {
        for await (const item of items) if (item.type === 'record') yield item.record;
      }
      c.events = mapper(records(), metadata, { underlying: opts.underlying, path })[Symbol.asyncIterator]();
    } catch (e) {
      if (!(e instanceof DbnError)) throw e;
      await fail(c, e);
      continue;
    }
    await advance(c);
  }

  let produced = 0;
  let sinceCheckpoint = 0;
  for (;;) {
    let next: Cursor | null = null;
    for (const c of cursors) if (c.head && (!next || c.head.ts_event_ns < next.head!.ts_event_ns)) next = c;
    if (!next) break;
    if (opts.shouldStop?.()) {
      await checkpoint();
      log.info('dbn replay stopped; resume point saved', { resume: opts.resume?.path ?? null, produced });
      return { files: cursors.map((c) => c.result), stopped: true };
    }
    const ev = next.head!;
    await opts.pacer?.pace(ev.ts_event_ns);
    await opts.sink.emit(ev);
    next.index++;
    next.result.produced++;
    next.lastTs = ev.ts_event_ns;
    produced++;
    opts.progress?.update(produced, ev.ts_event_ns);
    await advance(next);
    if (++sinceCheckpoint >= every) {
      sinceCheckpoint = 0;
      await checkpoint();
    }
  }
  await checkpoint();
  return { files: cursors.map((c) => c.result), stopped: false };
}

/** The file's bytes from the bad offset on, when the offset is a file offset (plain DBN, or a zstd-layer error). */
function rawSnippet(path: string, e: DbnError): Buffer {
  const fileOffset = !e.opts.compressed || e.code === 'ZSTD';
  if (!fileOffset) return Buffer.alloc(0);
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const start = Math.min(Math.max(e.offset, 0), size);
    const buf = Buffer.alloc(Math.min(RAW_SNIPPET, size - start));
    fd = openSync(path, 'r');
    readSync(fd, buf, 0, buf.length, start);
    return buf;
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
