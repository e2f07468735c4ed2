// The inputs `snap-engine run --input` reads besides JSONL: Databento DBN files (plain or zstd; the same decoder and
// record → event mapping as `feed dbn`: @snap/dbn's decodeDbnBatches + DbnNormalizer) and Bronze Parquet objects
// (the files `run` and the lake sink write under DATA_ROOT; read back as `replay --from-lake` does: readLakeEvents).
// The format comes from the extension, else from the first bytes ("DBN" or the zstd magic: DBN; "PAR1": Parquet;
// anything else: JSONL). Several inputs are merged into one stream by event time (ties: the order the inputs were
// given), so a DBN futures file and a JSONL of options interleave as they happened.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { readSchema } from 'parquet-wasm';
import type { InputEvent } from '@snap/core';
import { DbnError, DbnNormalizer, decodeDbnBatches } from '@snap/dbn';
import { BRONZE_TABLES, readLakeEvents, type BronzeSchema } from '@snap/lake-sink';

export type InputFormat = 'jsonl' | 'dbn' | 'bronze';

/** An input file that cannot be read as its format: the message names the file and the record (or row, or offset). */
export class InputFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'InputFileError';
  }
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The input format of `path`: by extension (.jsonl/.ndjson, .dbn/.dbn.zst, .parquet), else by its first bytes (a regular file) or JSONL. */
export function inputFormatOf(path: string): InputFormat {
  const p = path.toLowerCase();
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  if (p.endsWith('.dbn') || p.endsWith('.dbn.zst')) return 'dbn';
  if (p.endsWith('.parquet')) return 'bronze';
  // Only a regular file is sniffed: a pipe (run --input <(…)) would lose the bytes read, and it is JSONL as before.
  if (!statSync(path).isFile()) return 'jsonl';
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 3 && head.toString('latin1', 0, 3) === 'DBN') return 'dbn';
  if (n === 4 && ZSTD_MAGIC.every((b, i) => head[i] === b)) return 'dbn';
  if (n === 4 && head.toString('latin1') === 'PAR1') return 'bronze';
  return 'jsonl';
}

export interface DbnInputOptions {
  /** The underlying the futures data serves (the events' key), as `feed dbn --underlying`. */
  underlying: string;
  /** Symbol for instruments the file's symbology does not name (the underlying's futures root, e.g. ES). */
  symbolRoot: string;
}

/**
 * The events of a DBN file, in file order, in batches (one per decoded batch of records: a promise per batch, not
 * per event). A corrupt or truncated file yields every good record's events, then throws InputFileError naming the
 * file, the record number and the decoder's byte offset.
 */
export async function* readEventsDbn(path: string, opts: DbnInputOptions): AsyncGenerator<InputEvent[]> {
  let normalizer: DbnNormalizer | undefined;
  let records = 0;
  try {
    for await (const { metadata, records: batch } of decodeDbnBatches(path)) {
      normalizer ??= new DbnNormalizer(metadata, opts);
      const out: InputEvent[] = [];
      for (let i = 0; i < batch.length; i++) {
        const evs = normalizer.push(batch[i]!);
        for (let j = 0; j < evs.length; j++) out.push(evs[j]!);
      }
      records += batch.length;
      if (out.length > 0) yield out;
    }
  } catch (e) {
    // The decoder's message names the path too: said once, first.
    if (e instanceof DbnError) throw new InputFileError(`${path}: DBN record ${records + 1} (after ${records} good records): ${e.message.replace(` in ${path}:`, ':')}`, path);
    throw e;
  }
}

const BRONZE_COLUMN_NAMES = ['ts_event_ns', 'event_id', 'bid_px_1', 'delta', 'option_symbol', 'venue', 'bid_exch', 'conditions', 'symbol', 'underlying'];

/** The Bronze table an object's columns belong to: each schema's payload has a column no other one has. */
function bronzeSchemaOf(path: string, has: (column: string) => boolean): BronzeSchema {
  if (!has('ts_event_ns') || !has('event_id')) throw new InputFileError(`${path}: not a Bronze object (no ts_event_ns / event_id column); run --input reads Bronze input tables, not Gold or Silver`, path);
  const distinct: [string, BronzeSchema][] = [
    ['bid_px_1', 'futures.mbp10.v1'],
    ['delta', 'options.greeks_snapshots.v1'],
    ['option_symbol', 'options.trades.v1'],
    ['venue', 'futures.trades.v1'],
    ['bid_exch', 'stocks.quotes.v1'],
    ['conditions', 'stocks.trades.v1'],
  ];
  for (const [column, schema] of distinct) if (has(column)) return schema;
  if (!has('symbol') && !has('underlying')) return 'heartbeat.v1';
  throw new InputFileError(`${path}: its columns match no Bronze input table (docs/lake.md)`, path);
}

/**
 * The events of one Bronze Parquet object (one input stream's rows of an offset window, in log order), read whole:
 * an object is bounded by lake.flush_rows. Errors name the file.
 */
export function* readEventsBronze(path: string): Generator<InputEvent[]> {
  const bytes = readFileSync(path);
  if (bytes.length < 8 || bytes.toString('latin1', 0, 4) !== 'PAR1') throw new InputFileError(`${path}: not a Parquet file (no PAR1 magic)`, path);
  let schema: BronzeSchema;
  try {
    const s = readSchema(bytes);
    try {
      // indexOf throws for an absent field rather than returning -1.
      const names = new Set<string>();
      for (const c of BRONZE_COLUMN_NAMES) {
        try {
          if (s.indexOf(c) >= 0) names.add(c);
        } catch {
          // absent
        }
      }
      schema = bronzeSchemaOf(path, (c) => names.has(c));
    } finally {
      s.free();
    }
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(`${path}: unreadable Parquet footer (${(e as Error).message})`, path);
  }
  const columns = BRONZE_TABLES.find((t) => t.schemaName === schema)!.columns;
  let rows: ReturnType<typeof readLakeEvents>;
  try {
    rows = readLakeEvents(bytes, columns, path, schema);
  } catch (e) {
    throw new InputFileError(`${path}: ${(e as Error).message}`, path);
  }
  const BATCH = 4096;
  for (let from = 0; from < rows.count; from += BATCH) {
    const out: InputEvent[] = [];
    for (let i = from; i < Math.min(rows.count, from + BATCH); i++) out.push(rows.event(i));
    yield out;
  }
}

/** Event batches, sync (JSONL, Bronze) or async (DBN). */
export type EventBatches = Iterable<InputEvent[]> | AsyncIterable<InputEvent[]>;

interface Cursor {
  order: number;
  it: Iterator<InputEvent[]> | AsyncIterator<InputEvent[]>;
  buf: InputEvent[];
  at: number;
  done: boolean;
}

const isHeartbeat = (ev: InputEvent) => ev.schema === 'heartbeat.v1';

/**
 * One event stream out of several inputs: a k-way merge on ts_event_ns, ties in the order the inputs were given.
 * A heartbeat already emitted at the same event time (same event id) is dropped: Bronze holds every heartbeat once
 * per input stream (the feeds fan them out), and `run` fans each one out into every stream itself.
 * Synchronous when every input is (JSONL, Bronze): runEmbedded then iterates it without a promise per event (a third
 * of run-bronze's time); with a DBN input, async.
 */
export function mergeInputs(inputs: readonly EventBatches[]): Iterable<InputEvent> | AsyncIterable<InputEvent> {
  const merge = new InputMerge(inputs);
  return inputs.every((src) => !(Symbol.asyncIterator in src)) ? mergeSync(merge) : mergeAsync(merge);
}

function* mergeSync(m: InputMerge): Generator<InputEvent> {
  for (const c of m.cursors) m.fillSync(c);
  for (;;) {
    const ev = m.take();
    if (m.refill !== null) m.fillSync(m.refill);
    if (ev === null) return;
    if (ev !== DUPLICATE) yield ev;
  }
}

async function* mergeAsync(m: InputMerge): AsyncGenerator<InputEvent> {
  for (const c of m.cursors) await m.fill(c);
  for (;;) {
    const ev = m.take();
    if (m.refill !== null) await m.fill(m.refill);
    if (ev === null) return;
    if (ev !== DUPLICATE) yield ev;
  }
}

/** InputMerge.take's answer for a heartbeat already emitted. */
const DUPLICATE = Symbol('duplicate heartbeat');

/** mergeInputs' rule, for its sync and async forms. */
class InputMerge {
  readonly cursors: Cursor[];
  /** The cursor whose batch take() used up: refilled before the next take(). */
  refill: Cursor | null = null;
  private hbTs: bigint | null = null;
  private readonly hbIds = new Set<string>();

  constructor(inputs: readonly EventBatches[]) {
    this.cursors = inputs.map((src, order) => ({
      order,
      it: Symbol.asyncIterator in src ? (src as AsyncIterable<InputEvent[]>)[Symbol.asyncIterator]() : (src as Iterable<InputEvent[]>)[Symbol.iterator](),
      buf: [],
      at: 0,
      done: false,
    }));
  }

  async fill(c: Cursor): Promise<void> {
    while (!c.done && c.at >= c.buf.length) this.took(c, await c.it.next());
  }

  fillSync(c: Cursor): void {
    while (!c.done && c.at >= c.buf.length) this.took(c, (c.it as Iterator<InputEvent[]>).next());
  }

  private took(c: Cursor, r: IteratorResult<InputEvent[]>): void {
    if (r.done) c.done = true;
    else {
      c.buf = r.value;
      c.at = 0;
    }
  }

  /** The next event in merged order (null: every input is done), or DUPLICATE for a heartbeat already emitted. */
  take(): InputEvent | null | typeof DUPLICATE {
    this.refill = null;
    let next: Cursor | null = null;
    for (const c of this.cursors) {
      if (c.at >= c.buf.length) continue;
      if (!next || c.buf[c.at]!.ts_event_ns < next.buf[next.at]!.ts_event_ns) next = c;
    }
    if (!next) return null;
    const ev = next.buf[next.at++]!;
    if (next.at >= next.buf.length) this.refill = next;
    if (isHeartbeat(ev)) {
      if (this.hbTs !== ev.ts_event_ns) {
        this.hbTs = ev.ts_event_ns;
        this.hbIds.clear();
      } else if (this.hbIds.has(ev.event_id)) return DUPLICATE;
      this.hbIds.add(ev.event_id);
    }
    return ev;
  }
}
