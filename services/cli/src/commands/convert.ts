// `snap-engine convert --from csv|parquet|jsonl --schema NAME FILES… --out FILE.jsonl`: your own data → the normalized
// JSONL events `run --input` reads (docs/data.md has the contract and a walkthrough).
//
//   csv      a header row; columns named as the schema's fields (docs/data.md), renamed with --map field=column.
//            MBP-10 book columns as Databento writes them (bid_px_00 … bid_px_09, bid_sz_00 …) or one column with
//            ';'-separated values. Files ending in .gz are gunzipped. Quoted fields may hold commas, not newlines.
//   parquet  the same column names, one row per record.
//   jsonl    already normalized events (e.g. `feed dbn --out`, other `convert` outputs): checked and merged.
// Times (ts_event_ns, ts_recv_ns, last_*_ts_ns): integers in --time-unit (default ns), or ISO-8601 with up to 9
// fractional digits and a zone (2026-01-15T14:30:00.123456789Z). Every record is validated by the same parser `run`
// uses, so an error names the file, row and field. Records of all inputs are merged into event-time order (stable:
// equal times keep input order), which `run` requires. The inputs are held in memory while they are sorted.
// Exit codes: 0 done · 1 a bad row or unreadable file (no --out written) · 2 usage error.
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { Command, InvalidArgumentError, Option } from 'commander';
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { ConfigError, EventLineError, INPUT_SCHEMAS, formatEventLine, parseEventLine, type InputEvent, type InputSchema } from '@snap/core';
import { AtomicOutput, EXIT, Progress, loadConfig, printSummary } from '@snap/platform';

type FieldType = 'time' | 'int64' | 'num' | 'int' | 'str' | 'bool' | 'nums' | 'ints' | 'side';

const ENVELOPE: Record<string, FieldType> = { schema_version: 'int', source: 'str', ts_event_ns: 'time', ts_recv_ns: 'time', key: 'str', seq: 'int64', event_id: 'str' };
const OPTION_CONTRACT: Record<string, FieldType> = { underlying: 'str', option_symbol: 'str', exp_date: 'str', strike: 'num', right: 'str' };

/** The fields of each schema and how a text cell becomes a JSON value (the contract: core event-json.ts). */
export const FIELDS: Record<InputSchema, Record<string, FieldType>> = {
  'stocks.trades.v1': { ...ENVELOPE, symbol: 'str', price: 'num', size: 'int', exchange: 'int', conditions: 'ints' },
  'stocks.quotes.v1': { ...ENVELOPE, symbol: 'str', bid_px: 'num', ask_px: 'num', bid_sz: 'int', ask_sz: 'int', bid_exch: 'int', ask_exch: 'int' },
  'options.trades.v1': { ...ENVELOPE, ...OPTION_CONTRACT, price: 'num', size: 'int', opt_bid: 'num', opt_ask: 'num', aggressor: 'side' },
  'options.greeks_snapshots.v1': {
    ...ENVELOPE,
    ...OPTION_CONTRACT,
    delta: 'num',
    gamma: 'num',
    theta: 'num',
    vega: 'num',
    implied_volatility: 'num',
    open_interest: 'int',
    last_quote_ts_ns: 'time',
    last_trade_ts_ns: 'time',
    snapshot_id: 'str',
  },
  'futures.trades.v1': { ...ENVELOPE, symbol: 'str', price: 'num', size: 'int', aggressor: 'side', venue: 'str' },
  'futures.mbp10.v1': { ...ENVELOPE, symbol: 'str', bid_px: 'nums', bid_sz: 'ints', ask_px: 'nums', ask_sz: 'ints', bid_ct: 'ints', ask_ct: 'ints', flags: 'int', is_snapshot: 'bool' },
  'heartbeat.v1': { ...ENVELOPE },
};

const TIME_UNITS = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n } as const;
export type TimeUnit = keyof typeof TIME_UNITS;

/** A bad cell or row: names the file, the 1-based row (header = row 1 in CSV) and the field. */
export class ConvertError extends Error {
  override name = 'ConvertError';
  readonly exitCode = EXIT.FAILED;
}

/** ISO-8601 with a zone and up to 9 fractional digits → Unix ns, exactly (Date alone keeps only ms). */
export function isoToNs(text: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/.exec(text.trim());
  if (!m) return null;
  const zone = m[4] === 'Z' ? 'Z' : m[4]!.length === 5 ? `${m[4]!.slice(0, 3)}:${m[4]!.slice(3)}` : m[4]!;
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[3] ?? '').padEnd(9, '0') || '0');
}

function timeNs(text: string, unit: TimeUnit): bigint | null {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return BigInt(t) * TIME_UNITS[unit];
  if (/^-?\d+\.\d+$/.test(t)) {
    // Fractional seconds/ms: split exactly instead of through a float.
    const [i, f] = t.split('.') as [string, string];
    const digits = TIME_UNITS[unit].toString().length - 1;
    return BigInt(i) * TIME_UNITS[unit] + BigInt(f.slice(0, digits).padEnd(digits, '0') || '0') * (t.startsWith('-') ? -1n : 1n);
  }
  return isoToNs(t);
}

/** One cell → JSON value by field type; '' → undefined (field omitted). Throws a message naming the problem. */
function cellValue(type: FieldType, raw: unknown, unit: TimeUnit): unknown {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'bigint') return type === 'time' ? (raw * TIME_UNITS[unit]).toString() : type === 'int64' ? raw.toString() : Number(raw);
  if (typeof raw === 'number' || typeof raw === 'boolean') {
    if (type === 'time') {
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw new Error(`expected an integer time in ${unit} (got ${raw}); beyond 2^53, store it as int64 or a decimal string`);
      return (BigInt(raw) * TIME_UNITS[unit]).toString();
    }
    if (type === 'int64') return String(raw);
    if (type === 'str') return String(raw);
    return raw;
  }
  if (raw instanceof Date) return type === 'time' ? (BigInt(raw.getTime()) * 1_000_000n).toString() : raw.toISOString();
  if (typeof raw === 'object' && Symbol.iterator in (raw as object)) {
    const xs = Array.from(raw as Iterable<unknown>, (x) => (x === null || x === undefined ? null : Number(x)));
    return xs;
  }
  const text = String(raw);
  if (text.trim() === '') return undefined;
  const t = text.trim();
  switch (type) {
    case 'time': {
      const ns = timeNs(t, unit);
      if (ns === null) throw new Error(`expected a time (integer ${unit} or ISO-8601 with a zone, e.g. 2026-01-15T14:30:00.123456Z), got ${JSON.stringify(text)}`);
      return ns.toString();
    }
    case 'int64':
      if (!/^-?\d+$/.test(t)) throw new Error(`expected an integer, got ${JSON.stringify(text)}`);
      return t;
    case 'num':
    case 'int': {
      if (t.toLowerCase() === 'null') return null;
      const x = Number(t);
      if (!Number.isFinite(x)) throw new Error(`expected a number, got ${JSON.stringify(text)}`);
      return x;
    }
    case 'side': {
      const s = t.toUpperCase();
      if (s === 'B' || s === 'BUY' || s === '1' || s === '+1') return 1;
      if (s === 'A' || s === 'S' || s === 'SELL' || s === '-1') return -1;
      if (s === 'N' || s === 'MID' || s === '0' || s === 'UNKNOWN') return 0;
      throw new Error(`expected an aggressor side (B/BUY/1, A/S/SELL/-1, N/0), got ${JSON.stringify(text)}`);
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(t)) return true;
      if (/^(false|0|no)$/i.test(t)) return false;
      throw new Error(`expected true or false, got ${JSON.stringify(text)}`);
    case 'nums':
    case 'ints':
      return t.split(/[;|\s]+/).filter(Boolean).map((x) => (x.toLowerCase() === 'null' || x.toLowerCase() === 'nan' ? null : Number(x)));
    case 'str':
      return t;
  }
}

export interface ConvertOptions {
  schema?: InputSchema;
  /** Default `key` (and options' `underlying`) when the data has none. */
  underlying: string;
  timeUnit: TimeUnit;
  /** field → column name in the input. */
  map: Record<string, string>;
}

/** One input row (column → cell) as a validated event. `where` names file and row for errors. */
export function rowToEvent(row: Record<string, unknown>, opts: ConvertOptions & { schema: InputSchema }, where: string): InputEvent {
  const fields = FIELDS[opts.schema];
  const obj: Record<string, unknown> = { schema: opts.schema };
  const col = (f: string) => opts.map[f] ?? f;
  for (const [field, type] of Object.entries(fields)) {
    let raw = row[col(field)];
    if (raw === undefined && (type === 'nums' || type === 'ints')) {
      // Databento CSV: bid_px_00 … bid_px_09.
      const parts: unknown[] = [];
      for (let i = 0; i < 10; i++) {
        const v = row[`${col(field)}_${String(i).padStart(2, '0')}`];
        if (v === undefined) break;
        parts.push(v === '' || v === null ? null : v);
      }
      if (parts.length) raw = parts.map((p) => (p === null ? 'null' : String(p))).join(';');
    }
    try {
      const v = cellValue(type, raw, opts.timeUnit);
      if (v !== undefined) obj[field] = v;
    } catch (e) {
      throw new ConvertError(`${where}: field "${field}"${col(field) !== field ? ` (column "${col(field)}")` : ''}: ${(e as Error).message}`);
    }
  }
  obj.key ??= opts.underlying;
  obj.source ??= 'replay';
  if (opts.schema === 'options.trades.v1' || opts.schema === 'options.greeks_snapshots.v1') obj.underlying ??= obj.key;
  if (opts.schema === 'options.trades.v1' || opts.schema === 'futures.trades.v1') obj.aggressor ??= 0;
  // Rows of one chain snapshot share their time: that time names the snapshot when the data has no id.
  if (opts.schema === 'options.greeks_snapshots.v1') obj.snapshot_id ??= `snap-${String(obj.ts_event_ns ?? '')}`;
  // A book row without flags is a complete book (F_LAST), as a Databento MBP-10 row read at F_LAST is.
  if (opts.schema === 'futures.mbp10.v1') obj.flags ??= 0x80;
  try {
    return parseEventLine(JSON.stringify(obj), 1);
  } catch (e) {
    if (e instanceof EventLineError) throw new ConvertError(`${where}: ${e.message.replace(/^line 1: /, '')}`);
    throw e;
  }
}

/** RFC 4180 fields of one line (quotes, doubled quotes inside quotes); no embedded newlines. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Bytes of the current input file read so far (the progress position). */
interface ReadTracker {
  bytes: number;
}

async function* csvRows(path: string, tracker: ReadTracker): AsyncGenerator<{ row: Record<string, string>; rowNo: number }> {
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let header: string[] | null = null;
  let rowNo = 0;
  for await (const line of lines) {
    tracker.bytes = raw.bytesRead;
    rowNo++;
    if (line.trim() === '') continue;
    const cells = splitCsvLine(line);
    if (!header) {
      header = cells.map((h) => h.trim().replace(/^\uFEFF/, ''));
      continue;
    }
    if (cells.length !== header.length) throw new ConvertError(`${path}: row ${rowNo}: ${cells.length} cells, the header has ${header.length}`);
    const row: Record<string, string> = {};
    for (let i = 0; i < header.length; i++) row[header[i]!] = cells[i]!;
    yield { row, rowNo };
  }
  if (!header) throw new ConvertError(`${path}: empty file (a CSV needs a header row naming the fields)`);
}

function* parquetRows(path: string, tracker: ReadTracker): Generator<{ row: Record<string, unknown>; rowNo: number }> {
  let table: arrow.Table;
  try {
    const bytes = readFileSync(path);
    tracker.bytes = bytes.length;
    table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
  } catch (e) {
    throw new ConvertError(`${path}: not a readable Parquet file: ${(e as Error).message}`);
  }
  const cols = table.schema.fields.map((f) => ({ name: f.name, vec: table.getChild(f.name)!, ts: arrow.DataType.isTimestamp(f.type) }));
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const c of cols) {
      const v = c.vec.get(i);
      // Arrow timestamp columns read as ms numbers: keep them as instants (Date) so the unit is not misapplied.
      row[c.name] = c.ts && typeof v === 'number' ? new Date(v) : v;
    }
    yield { row, rowNo: i + 1 };
  }
}

async function* jsonlRows(path: string, tracker: ReadTracker): AsyncGenerator<InputEvent> {
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let lineNo = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    tracker.bytes = raw.bytesRead;
    lineNo++;
    if (line.trim() === '') continue;
    try {
      yield parseEventLine(line, lineNo);
    } catch (e) {
      if (e instanceof EventLineError) throw new ConvertError(`${path}: ${e.message}`);
      throw e;
    }
  }
}

const schemaArg = (text: string): InputSchema => {
  if (!(INPUT_SCHEMAS as readonly string[]).includes(text)) throw new InvalidArgumentError(`expected one of ${INPUT_SCHEMAS.join(', ')} (got ${JSON.stringify(text)})`);
  return text as InputSchema;
};

const mapArg = (text: string, prev: Record<string, string> = {}): Record<string, string> => {
  const out = { ...prev };
  for (const pair of text.split(',').filter(Boolean)) {
    const m = /^\s*([a-z_0-9]+)\s*=\s*(.+?)\s*$/.exec(pair);
    if (!m) throw new InvalidArgumentError(`expected field=column pairs such as ts_event_ns=timestamp,bid_px=bid (got ${JSON.stringify(pair)})`);
    out[m[1]!] = m[2]!;
  }
  return out;
};

/** Reads every input and returns its events in stable event-time order. */
export async function convertFiles(files: string[], from: 'csv' | 'parquet' | 'jsonl', opts: ConvertOptions, onRecord?: (n: number, bytesRead: number) => void): Promise<InputEvent[]> {
  const events: InputEvent[] = [];
  let before = 0;
  for (const file of files) {
    const tracker: ReadTracker = { bytes: 0 };
    if (from === 'jsonl') {
      for await (const ev of jsonlRows(file, tracker)) {
        events.push(ev);
        onRecord?.(events.length, before + tracker.bytes);
      }
    } else {
      const schema = opts.schema!;
      const rows = from === 'csv' ? csvRows(file, tracker) : parquetRows(file, tracker);
      for await (const { row, rowNo } of rows) {
        events.push(rowToEvent(row, { ...opts, schema }, `${file}: row ${rowNo}`));
        onRecord?.(events.length, before + tracker.bytes);
      }
    }
    before += tracker.bytes;
  }
  // Array.prototype.sort is stable: equal times keep file, then row, order.
  return events.sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
}

export function register(program: Command) {
  program
    .command('convert')
    .description('convert CSV / Parquet (or merge normalized JSONL) into the run --input JSONL events, in event-time order (docs/data.md)')
    .argument('<files...>', 'input files (.csv, .csv.gz, .parquet, .jsonl)')
    .addOption(new Option('--from <format>', 'input format').choices(['csv', 'parquet', 'jsonl']).makeOptionMandatory())
    .option('--schema <name>', `the schema of every row (csv, parquet): ${INPUT_SCHEMAS.filter((s) => s !== 'heartbeat.v1').join(', ')}`, schemaArg)
    .requiredOption('--out <file.jsonl>', 'output: one normalized event per line (written only when every row converted)')
    .option('--underlying <sym>', 'key (the underlying the records serve) for rows without a "key" column (default: first of config underlyings)')
    .addOption(new Option('--time-unit <unit>', 'unit of integer time columns').choices(Object.keys(TIME_UNITS)).default('ns'))
    .option('--map <field=column,...>', 'input column names that differ from the field names (repeatable)', mapArg, {} as Record<string, string>)
    .addHelpText(
      'after',
      `
Example (SPY quotes from a CSV with columns time,bid,ask,bid_size,ask_size; times in ms):
  snap-engine convert --from csv --schema stocks.quotes.v1 quotes.csv --time-unit ms \\
    --map ts_event_ns=time,bid_px=bid,ask_px=ask,bid_sz=bid_size,ask_sz=ask_size --out spy-quotes.jsonl
Merge converted files with DBN-derived ones (feed dbn --out) into one run input:
  snap-engine convert --from jsonl es.jsonl spy-quotes.jsonl spy-trades.jsonl --out all.jsonl
Fields, units and an example line per schema: docs/data.md.`,
    )
    .action(async (files: string[], opts: { from: 'csv' | 'parquet' | 'jsonl'; schema?: InputSchema; out: string; underlying?: string; timeUnit: TimeUnit; map: Record<string, string> }) => {
      let underlying = opts.underlying;
      if (!underlying) {
        try {
          underlying = loadConfig({ file: program.opts().config }).underlyings[0]!;
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          process.stderr.write(`snap-engine convert: ${e.message}\n`);
          process.exitCode = EXIT.USAGE;
          return;
        }
      }
      if (opts.from !== 'jsonl' && !opts.schema) {
        process.stderr.write(`snap-engine convert: --from ${opts.from} needs --schema (the schema of every row)\n`);
        process.exitCode = EXIT.USAGE;
        return;
      }
      let bytes = 0;
      for (const f of files) {
        try {
          bytes += statSync(f).size;
        } catch {
          process.stderr.write(`snap-engine convert: cannot read ${f}: no such file\n`);
          process.exitCode = EXIT.FAILED;
          return;
        }
      }
      const started = Date.now();
      const progress = new Progress({ label: `convert ${files.length} file(s)`, unit: 'bytes', total: bytes });
      let events: InputEvent[];
      try {
        events = await convertFiles(files, opts.from, { schema: opts.schema, underlying, timeUnit: opts.timeUnit, map: opts.map }, (n, read) => {
          if ((n & 1023) === 0) progress.update(read, { records: n });
        });
      } catch (e) {
        progress.finish();
        if (e instanceof ConvertError) {
          process.stderr.write(`snap-engine convert: ${e.message}\n`);
          process.exitCode = EXIT.FAILED;
          return;
        }
        throw e;
      }
      progress.update(bytes, { records: events.length });
      progress.finish();
      const output = new AtomicOutput(opts.out);
      const out = createWriteStream(output.tempPath);
      try {
        for (const ev of events) if (!out.write(formatEventLine(ev) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
        await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
        output.commit();
      } catch (e) {
        output.abort();
        throw e;
      }
      const bySchema: Record<string, number> = {};
      for (const ev of events) bySchema[ev.schema] = (bySchema[ev.schema] ?? 0) + 1;
      printSummary('convert', {
        out: opts.out,
        records: events.length,
        by_schema: bySchema,
        input_bytes: bytes,
        wall_s: Math.round((Date.now() - started) / 100) / 10,
      });
    });
}
