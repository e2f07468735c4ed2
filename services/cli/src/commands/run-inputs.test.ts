// `run --input` beyond JSONL: DBN files through the one decode path `feed dbn` uses, Bronze objects, format detection
// and the merge of several inputs by event time. DBN inputs are Databento's real sample files, read in place.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEventLine, type InputEvent } from '@snap/core';
import { openDbn } from '@snap/dbn';
import { dbnEventMapper } from '@snap/feeds';
import { allFixtures, fixture } from '../../../../packages/dbn/src/test-fixtures';
import { InputFileError, inputFormatOf, mergeInputs, readEventsBronze, readEventsDbn } from './run-inputs';

async function all<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

const hb = (ts: bigint, key = 'SPY'): InputEvent => ({ schema: 'heartbeat.v1', schema_version: 1, source: 'sim', ts_event_ns: ts, ts_recv_ns: ts, key, seq: null, event_id: `hb-${key}-${ts}` });
const quote = (ts: bigint, id: string): InputEvent => ({ schema: 'stocks.quotes.v1', schema_version: 1, source: 'sim', ts_event_ns: ts, ts_recv_ns: ts, key: 'SPY', seq: null, event_id: id, symbol: 'SPY', bid_px: 1, ask_px: 2, bid_sz: 1, ask_sz: 1, bid_exch: null, ask_exch: null });

describe('run --input DBN', () => {
  // Every sample the decoder reads (edge/v4.dbn is a version it refuses; bad and trunc are tested below).
  const files = allFixtures().filter((f) => !['edge/bad.dbn', 'edge/trunc.dbn', 'edge/v4.dbn'].includes(f));
  it.each(files)('%s: the events feed dbn maps from the same file (one decode path, one mapping)', async (name) => {
    const path = fixture(name);
    const got = await all(readEventsDbn(path, { underlying: 'SPY', symbolRoot: 'ES' }));
    const { metadata, records } = await openDbn(path);
    const want: InputEvent[] = [];
    for await (const ev of dbnEventMapper('ES')(records, metadata, { underlying: 'SPY', path })) want.push(ev);
    expect(got.map(formatEventLine)).toEqual(want.map(formatEventLine));
    expect(got.length).toBeGreaterThan(0);
    for (const ev of got) expect(['futures.mbp10.v1', 'futures.trades.v1']).toContain(ev.schema);
  });

  it('names the file and the record of a truncated file, after its good records', async () => {
    const path = fixture('edge/trunc.dbn');
    const got: InputEvent[] = [];
    let err: unknown;
    try {
      for await (const b of readEventsDbn(path, { underlying: 'SPY', symbolRoot: 'ES' })) got.push(...b);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputFileError);
    expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
    expect((err as Error).message).toMatch(/DBN record 2 \(after 1 good records\): TRUNCATED at byte offset \d+/);
    expect(got).toHaveLength(1);
  });

  it('names the file of a DBN file with a bad header', async () => {
    const path = fixture('edge/bad.dbn');
    await expect(all(readEventsDbn(path, { underlying: 'SPY', symbolRoot: 'ES' }))).rejects.toThrow(new RegExp(`${path.replace(/[.]/g, '\\.')}: DBN record 1 \\(after 0 good records\\): BAD_HEADER at byte offset 0`));
  });
});

describe('inputFormatOf', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'run-inputs-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('goes by the extension, else by the first bytes', () => {
    expect(inputFormatOf('x.jsonl')).toBe('jsonl');
    expect(inputFormatOf('x.DBN')).toBe('dbn');
    expect(inputFormatOf('x.dbn.zst')).toBe('dbn');
    expect(inputFormatOf('x.parquet')).toBe('bronze');
    const plain = join(dir, 'plain');
    const zst = join(dir, 'zst');
    const par = join(dir, 'par');
    const json = join(dir, 'json');
    copyFileSync(fixture('test_data.trades.dbn'), plain);
    copyFileSync(fixture('test_data.trades.v3.dbn.zst'), zst);
    writeFileSync(par, 'PAR1....PAR1');
    writeFileSync(json, '{"schema":"heartbeat.v1"}\n');
    expect([plain, zst, par, json].map(inputFormatOf)).toEqual(['dbn', 'dbn', 'bronze', 'jsonl']);
  });

  it('takes a pipe (run --input <(…)) as JSONL without reading from it', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(inputFormatOf(fifo)).toBe('jsonl'); // opening it to sniff would block: there is no writer
  });

  it('refuses a file that is not Parquet, naming it', () => {
    const path = join(dir, 'not.parquet');
    writeFileSync(path, 'hello');
    expect(() => [...readEventsBronze(path)]).toThrow(new InputFileError(`${path}: not a Parquet file (no PAR1 magic)`, path));
  });
});

describe('mergeInputs', () => {
  const drain = async (it: Iterable<InputEvent> | AsyncIterable<InputEvent>) => {
    const out: string[] = [];
    for await (const ev of it) out.push(ev.event_id);
    return out;
  };

  it('merges by event time, ties in input order, sync and async inputs alike', async () => {
    async function* dbnLike(): AsyncGenerator<InputEvent[]> {
      yield [quote(1n, 'a1'), quote(3n, 'a3')];
      yield [];
      yield [quote(5n, 'a5')];
    }
    const jsonl = [[quote(2n, 'b2'), quote(3n, 'b3')], [quote(6n, 'b6')]];
    expect(await drain(mergeInputs([dbnLike(), jsonl]))).toEqual(['a1', 'b2', 'a3', 'b3', 'a5', 'b6']);
    expect(await drain(mergeInputs([jsonl, dbnLike()]))).toEqual(['a1', 'b2', 'b3', 'a3', 'a5', 'b6']);
  });

  it('is synchronous when every input is (JSONL, Bronze), async with an async input (DBN), the same sequence', async () => {
    async function* asyncOf(batches: InputEvent[][]): AsyncGenerator<InputEvent[]> {
      for (const b of batches) yield b;
    }
    const a = [[hb(1n), quote(1n, 'a1')], [], [quote(4n, 'a4'), hb(5n)]];
    const b = [[hb(1n), quote(2n, 'b2'), quote(4n, 'b4')], [hb(5n)]];
    const sync = mergeInputs([a, b]);
    expect(Symbol.asyncIterator in sync).toBe(false);
    const ids = [...(sync as Iterable<InputEvent>)].map((e) => e.event_id);
    expect(ids).toEqual(['hb-SPY-1', 'a1', 'b2', 'a4', 'b4', 'hb-SPY-5']);
    const mixed = mergeInputs([asyncOf(a), b]);
    expect(Symbol.asyncIterator in mixed).toBe(true);
    expect(await drain(mixed)).toEqual(ids);
  });

  it('keeps one copy of a heartbeat that several inputs hold (Bronze fans them out per stream), not of data', async () => {
    const a = [[hb(1n), quote(1n, 'q1'), hb(2n), hb(2n, 'QQQ')]];
    const b = [[hb(1n), quote(1n, 'q1'), hb(2n), hb(3n)]];
    expect(await drain(mergeInputs([a, b]))).toEqual(['hb-SPY-1', 'q1', 'q1', 'hb-SPY-2', 'hb-QQQ-2', 'hb-SPY-3']);
  });

  it('passes a reader error on', async () => {
    function* bad(): Generator<InputEvent[]> {
      yield [quote(1n, 'ok')];
      throw new InputFileError('f.parquet: row 2: nope', 'f.parquet');
    }
    await expect(drain(mergeInputs([bad(), [[quote(2n, 'x')]]]))).rejects.toThrow('f.parquet: row 2: nope');
  });
});
