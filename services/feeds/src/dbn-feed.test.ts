import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEventLine, type InputEvent } from '@snap/core';
import { createLogger, manualClock } from '@snap/platform';
import { runDbnFeed } from './dbn-feed';
import { ResumePoint } from './resume';
import { JsonlFeedSink } from './sink';

const FIX = '/work/shared/dbn-fixtures';
const MBP10 = join(FIX, 'test_data.mbp-10.v3.dbn.zst');
const TRADES = join(FIX, 'test_data.trades.v3.dbn.zst');
const TRUNC = join(FIX, 'edge', 'trunc.dbn');
const quiet = createLogger({ write: () => undefined });

function jsonlSink(dir: string, name: string) {
  const path = join(dir, name);
  const sink = new JsonlFeedSink({ path, latePolicy: 'dead_letter', heartbeatMs: 250, clock: manualClock(0n), logger: quiet, defaultKey: 'SPY' });
  const read = (): InputEvent[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l, i) => parseEventLine(l, i + 1));
  const deadLetters = () => (existsSync(sink.deadLetterPath) ? readFileSync(sink.deadLetterPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  return { sink, read, deadLetters };
}

const data = (evs: InputEvent[]) => evs.filter((e) => e.schema !== 'heartbeat.v1');

describe('runDbnFeed', () => {
  it('merges mbp-10 and trades files into one event-time stream keyed by the underlying', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feeds-dbn-'));
    const { sink, read, deadLetters } = jsonlSink(dir, 'out.jsonl');
    // trades first on the command line: the merge still orders by event time
    const r = await runDbnFeed({ files: [TRADES, MBP10], underlying: 'SPY', sink, logger: quiet, symbolRoot: 'ES' });
    await sink.close();
    const out = read();
    expect(data(out).map((e) => e.schema)).toEqual(['futures.mbp10.v1', 'futures.mbp10.v1', 'futures.trades.v1', 'futures.trades.v1']);
    expect(out.every((e) => e.key === 'SPY')).toBe(true);
    const ts = out.map((e) => e.ts_event_ns);
    expect([...ts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ts);
    expect(out[0]!.schema).toBe('heartbeat.v1');
    expect(r.files.map((f) => [f.produced, f.error])).toEqual([
      [2, undefined],
      [2, undefined],
    ]);
    expect(deadLetters()).toEqual([]);
    expect(sink.metrics.late).toBe(0);
  });

  it('a truncated file yields its good records and one dead letter with the byte offset; the next file still plays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feeds-dbn-'));
    const { sink, read, deadLetters } = jsonlSink(dir, 'out.jsonl');
    const r = await runDbnFeed({ files: [TRUNC, TRADES], underlying: 'SPY', sink, logger: quiet });
    await sink.close();
    expect(data(read()).map((e) => e.schema)).toEqual(['futures.mbp10.v1', 'futures.trades.v1', 'futures.trades.v1']);
    expect(r.files[0]).toMatchObject({ produced: 1, error: { code: 'TRUNCATED', offset: 721 } });
    expect(r.files[1]).toMatchObject({ produced: 2 });
    const dls = deadLetters();
    expect(dls).toHaveLength(1);
    expect(dls[0]).toMatchObject({ source: 'feeds.dbn', error_class: 'DbnError.TRUNCATED', error_path: 'byte_offset:721', source_topic: `file:${TRUNC}`, source_offset: '721', key: 'SPY' });
    expect(dls[0].reason).toContain('byte offset 721');
    // raw = the file's bytes from the bad offset: 1000 - 721
    expect(Buffer.from(dls[0].raw_base64, 'base64')).toEqual(readFileSync(TRUNC).subarray(721));
  });

  it('a file that is not DBN at all is dead-lettered at offset 0 and the rest goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feeds-dbn-'));
    const { sink, read, deadLetters } = jsonlSink(dir, 'out.jsonl');
    const r = await runDbnFeed({ files: [join(FIX, 'edge', 'bad.dbn'), MBP10], underlying: 'QQQ', sink, logger: quiet });
    await sink.close();
    expect(r.files[0]!.error).toMatchObject({ code: 'BAD_HEADER', offset: 0 });
    expect(data(read())).toHaveLength(2);
    expect(deadLetters()[0].key).toBe('QQQ');
  });

  it('resume: a stopped replay continues where it stopped, producing every record exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feeds-dbn-'));
    const resumePath = join(dir, 'resume.json');
    const full = jsonlSink(dir, 'full.jsonl');
    await runDbnFeed({ files: [MBP10, TRADES], underlying: 'SPY', sink: full.sink, logger: quiet });
    await full.sink.close();

    const first = jsonlSink(dir, 'first.jsonl');
    let emitted = 0;
    const origEmit = first.sink.emit.bind(first.sink);
    first.sink.emit = async (ev) => {
      await origEmit(ev);
      if (ev.schema !== 'heartbeat.v1') emitted++;
    };
    const r1 = await runDbnFeed({ files: [MBP10, TRADES], underlying: 'SPY', sink: first.sink, resume: ResumePoint.load(resumePath), shouldStop: () => emitted >= 3, logger: quiet });
    await first.sink.close();
    expect(r1.stopped).toBe(true);
    const saved = ResumePoint.load(resumePath);
    expect(saved.position(MBP10)).toMatchObject({ index: 2, done: true });
    expect(saved.position(TRADES)).toMatchObject({ index: 1, done: false });

    const second = jsonlSink(dir, 'second.jsonl');
    const resume = ResumePoint.load(resumePath);
    second.sink.guard.restore(resume.partitions);
    second.sink.heartbeats!.restore(resume.heartbeats);
    const r2 = await runDbnFeed({ files: [MBP10, TRADES], underlying: 'SPY', sink: second.sink, resume, logger: quiet });
    await second.sink.close();
    expect(r2.stopped).toBe(false);
    expect(r2.files.map((f) => f.produced)).toEqual([0, 1]);
    expect(second.sink.metrics.late).toBe(0);
    const ids = (evs: InputEvent[]) => data(evs).map((e) => e.event_id);
    expect([...ids(first.read()), ...ids(second.read())]).toEqual(ids(full.read()));
    expect(ResumePoint.load(resumePath).position(TRADES)).toMatchObject({ index: 2, done: true });
  });
});
