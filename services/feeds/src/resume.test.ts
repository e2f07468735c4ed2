import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResumeFileError, ResumePoint } from './resume';

const dir = () => mkdtempSync(join(tmpdir(), 'feeds-resume-'));

describe('ResumePoint', () => {
  it('a missing file is a fresh start', () => {
    const r = ResumePoint.load(join(dir(), 'none.json'));
    expect(r.position('/x/a.dbn')).toEqual({ index: 0, ts_event_ns: null, done: false });
  });

  it('saves atomically and reloads positions and ordering state', () => {
    const path = join(dir(), 'sub', 'resume.json');
    const r = ResumePoint.load(path);
    r.record('a.dbn', { index: 42, ts_event_ns: '1700000000000000000', done: false });
    r.record('b.dbn', { index: 7, ts_event_ns: '1700000000000000001', done: true });
    r.save({ 'futures.trades.v1|SPY': '1700000000000000001' }, { SPY: '1700000000000000000' });
    const again = ResumePoint.load(path);
    // relative and absolute spellings of a file are the same file
    expect(again.position(join(process.cwd(), 'a.dbn'))).toEqual({ index: 42, ts_event_ns: '1700000000000000000', done: false });
    expect(again.position('b.dbn').done).toBe(true);
    expect(again.partitions).toEqual({ 'futures.trades.v1|SPY': '1700000000000000001' });
    expect(again.heartbeats).toEqual({ SPY: '1700000000000000000' });
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
  });

  it('a malformed file stops the replay with an error naming the file and the field', () => {
    const path = join(dir(), 'bad.json');
    writeFileSync(path, '{not json');
    expect(() => ResumePoint.load(path)).toThrow(ResumeFileError);
    writeFileSync(path, JSON.stringify({ version: 1, files: { 'a.dbn': { index: -1, ts_event_ns: null } } }));
    expect(() => ResumePoint.load(path)).toThrow(/files\["a.dbn"\]\.index/);
    writeFileSync(path, JSON.stringify({ version: 2 }));
    expect(() => ResumePoint.load(path)).toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*version 2`));
  });
});
