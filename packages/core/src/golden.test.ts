// Golden guard for the engine's output bytes (issue 15: every optimisation must keep payloads byte-identical).
// For several simulated sessions (seeds, both barrier sources, normal and 8× event density) it pins the sha256 of the
// input event lines and of the payload JSONL (JSON.stringify of every payload + "\n", what `run --out` writes).
// Any byte change of the output fails; a change of the INPUT digest means the simulator changed, not the engine —
// then re-pin with `GOLDEN_WRITE=1 npx jest --selectProjects unit packages/core/src/golden.test.ts` at a commit whose
// engine output is trusted (and say so in the commit). A deliberate output change (signal quality) re-pins the same way.
// One case also snapshots and restores the engine every few thousand events: the restored engine must continue
// byte-identically, so a change of state shape that breaks restore fails here too.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, type Config } from './config';
import type { InputEvent } from './events';
import { formatEventLine } from './event-json';
import { compressEventTime as compressTime } from './event-time';
import { simulateSession } from './sim';
import { SnapEngine } from './snap-engine';

const FILE = join(__dirname, 'golden-digests.json');

interface Case {
  name: string;
  seed: number;
  minutes: number;
  source: 'l1' | 'mbp10';
  /** Event time compressed by this factor (8 → 8× the events per second of event time). */
  density: number;
  /** Snapshot + restore the engine every N events (0: never). */
  restoreEvery: number;
}

const CASES: Case[] = [];
for (const seed of [1, 2, 3, 4, 5]) for (const source of ['l1', 'mbp10'] as const) CASES.push({ name: `seed${seed}-20m-${source}-1x`, seed, minutes: 20, source, density: 1, restoreEvery: 0 });
for (const seed of [1, 2]) for (const source of ['l1', 'mbp10'] as const) CASES.push({ name: `seed${seed}-20m-${source}-8x`, seed, minutes: 20, source, density: 8, restoreEvery: 0 });
for (const source of ['l1', 'mbp10'] as const) CASES.push({ name: `seed1-20m-${source}-1x-restore`, seed: 1, minutes: 20, source, density: 1, restoreEvery: 4_999 });

const sha = () => createHash('sha256');

function runCase(c: Case, events: InputEvent[]): { input: string; output: string; payloads: number } {
  const cfg: Config = defaultConfig();
  cfg.barrier.source = c.source;
  const inH = sha();
  for (const e of events) inH.update(formatEventLine(e) + '\n');
  const outH = sha();
  let payloads = 0;
  let engine = new SnapEngine(cfg, 'SPY');
  let n = 0;
  for (const e of events) {
    for (const p of engine.push(e)) {
      outH.update(JSON.stringify(p) + '\n');
      payloads++;
    }
    if (c.restoreEvery > 0 && ++n % c.restoreEvery === 0) engine = SnapEngine.restore(cfg, engine.snapshot());
  }
  const last = events[events.length - 1]!.ts_event_ns;
  for (const p of engine.advanceTo(last + 1_000_000_000n)) {
    outH.update(JSON.stringify(p) + '\n');
    payloads++;
  }
  return { input: inH.digest('hex'), output: outH.digest('hex'), payloads };
}

const sessions = new Map<string, InputEvent[]>();
function eventsOf(c: Case): InputEvent[] {
  const key = `${c.seed}/${c.minutes}/${c.density}`;
  let ev = sessions.get(key);
  if (!ev) {
    ev = compressTime([...simulateSession({ seed: c.seed, durationMs: c.minutes * 60_000 })], c.density);
    sessions.set(key, ev);
  }
  return ev;
}

describe('golden payload digests (byte-identical engine output)', () => {
  const write = process.env.GOLDEN_WRITE === '1';
  const pinned = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, { input: string; output: string; payloads: number }>;
  const got: typeof pinned = {};
  afterAll(() => {
    if (write) writeFileSync(FILE, JSON.stringify(got, null, 2) + '\n');
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const r = runCase(c, eventsOf(c));
    got[name] = r;
    if (write) return;
    const want = pinned[name];
    expect(want).toBeDefined();
    // Input first: a different input means the simulator changed, and the output digest says nothing then.
    expect({ name, input: r.input }).toEqual({ name, input: want!.input });
    expect({ name, payloads: r.payloads, output: r.output }).toEqual({ name, payloads: want!.payloads, output: want!.output });
    expect(r.payloads).toBeGreaterThan(100);
    // Snapshot → restore continues byte-identically: the same bytes as the uninterrupted run.
    if (c.restoreEvery > 0) expect(r.output).toBe(pinned[name.replace(/-restore$/, '')]!.output);
  }, 300_000);

  it('compressTime keeps order and compresses event time', () => {
    const ev = [...simulateSession({ seed: 9, durationMs: 10_000 })];
    const c = compressTime(ev, 8);
    for (let i = 1; i < c.length; i++) expect(c[i]!.ts_event_ns >= c[i - 1]!.ts_event_ns).toBe(true);
    const span = (a: InputEvent[]) => a[a.length - 1]!.ts_event_ns - a[0]!.ts_event_ns;
    expect(span(c)).toBe(span(ev) / 8n);
  });
});
