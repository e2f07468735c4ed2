// `snap-engine eval --sim --seeds 1 --duration 10m --out DIR` end to end: both files are written, metrics.json has the
// documented shape (and its figures are consistent with each other), report.html is self-contained with its SVG plots.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { regimeSchedule, simulateToJsonl } from '@snap/core';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8' });

const PRF_KEYS = ['tp', 'fp', 'fn', 'precision', 'recall', 'f1'];
const nullOrUnit = (x: unknown) => x === null || (typeof x === 'number' && x >= 0 && x <= 1);

describe('snap-engine eval', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snap-eval-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes metrics.json and a self-contained report.html for a 10-minute simulated session', () => {
    const out = join(dir, 'out');
    const r = cli(['eval', '--sim', '--seeds', '1', '--duration', '10m', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/eval: seed 1 done — 1\/1 \(100%\).*ETA/);
    expect(r.stdout).toMatch(/^variant\s+episodes\s+BREAK P/m);
    for (const v of ['all', 'barrier_only', 'tape_only', 'fuel_only']) expect(r.stdout).toMatch(new RegExp(`^${v}\\s+\\d+`, 'm'));

    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.version).toBe(1);
    expect(m.source).toMatchObject({ kind: 'sim', seeds: [1], duration_ms: 600_000, regime: 'session', underlying: 'SPY' });
    expect(m.params).toMatchObject({ breakDistance: 0.25, rejectDistance: 0.2, horizonMs: 120_000, reliabilityBins: 10 });
    expect(Object.keys(m.variants)).toEqual(['all', 'barrier_only', 'tape_only', 'fuel_only']);
    for (const v of Object.values(m.variants) as any[]) {
      expect(Object.keys(v.BREAK)).toEqual(PRF_KEYS);
      expect(Object.keys(v.REJECT)).toEqual(PRF_KEYS);
      for (const k of ['precision', 'recall', 'f1']) expect(nullOrUnit(v.BREAK[k]) && nullOrUnit(v.REJECT[k])).toBe(true);
      expect(v.episodes.total).toBeGreaterThan(0);
      // Every episode is in exactly one cell of the confusion matrix, and the outcome counts are the same in every
      // variant (labels come from prices only, never from the engine's weights).
      const cells = (['BREAK', 'REJECT', 'UNRESOLVED'] as const).flatMap((o) => (['BREAK', 'REJECT', 'NONE'] as const).map((p) => v.confusion[o][p] as number));
      expect(cells.reduce((a, b) => a + b, 0)).toBe(v.episodes.total);
      expect([v.episodes.BREAK, v.episodes.REJECT, v.episodes.UNRESOLVED]).toEqual([m.variants.all.episodes.BREAK, m.variants.all.episodes.REJECT, m.variants.all.episodes.UNRESOLVED]);
      expect(v.reliability.bins).toHaveLength(10);
      expect(v.reliability.bins.reduce((a: number, b: { n: number }) => a + b.n, 0)).toBe(v.reliability.n);
      expect(v.reliability.ece === null || (v.reliability.ece >= 0 && v.reliability.ece <= 1)).toBe(true);
      expect(v.lead.BREAK.histogram).toHaveLength(8);
      expect(v.lead.BREAK.n).toBe(v.BREAK.tp);
      expect(v.hours).toBeCloseTo(10 / 60, 2);
      expect(v.quiet.hours).toBeLessThanOrEqual(v.hours + 1e-9);
      for (const g of ['by_level_kind', 'by_barrier_state', 'by_fuel_effect', 'by_confidence']) expect(typeof v[g]).toBe('object');
    }
    expect(m.variants.all.episodes.BREAK + m.variants.all.episodes.REJECT).toBeGreaterThan(0);
    expect(Object.keys(m.variants.all.by_level_kind).length).toBeGreaterThan(0);

    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    for (const id of ['reliability', 'lead-time', 'ablation']) expect(html).toMatch(new RegExp(`<svg class="plot" id="${id}"`));
    expect(html).toMatch(/Confusion matrix/);
    // Opens offline: no scripts, no external resources.
    expect(html).not.toMatch(/<script|<link|src="http|href="http|url\(http/i);
  }, 900_000);

  it('--input FILE gives the same figures as --sim over the same session', () => {
    const lines: string[] = [];
    simulateToJsonl({ seed: 3, durationMs: 180_000 }, (l) => lines.push(l));
    const input = join(dir, 'events.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const a = cli(['eval', '--input', input, '--no-ablation', '--out', join(dir, 'in')]);
    expect(a.stderr).toMatch(/events\.jsonl done — 1\/1 \(100%\)/);
    expect(a.status).toBe(0);
    const b = cli(['eval', '--sim', '--seeds', '3', '--duration', '3m', '--no-ablation', '--workers', '0', '--out', join(dir, 'sim')]);
    expect(b.status).toBe(0);
    const fromFile = JSON.parse(readFileSync(join(dir, 'in', 'metrics.json'), 'utf8'));
    const fromSim = JSON.parse(readFileSync(join(dir, 'sim', 'metrics.json'), 'utf8'));
    expect(Object.keys(fromFile.variants)).toEqual(['all']);
    expect(fromFile.source).toMatchObject({ kind: 'input', input });
    expect(fromFile.variants.all.episodes.total).toBeGreaterThan(0);
    expect(fromFile.variants).toEqual(fromSim.variants);

    // --baseline: an earlier metrics.json shown next to this run (the same engine here, so both rows agree).
    const c = cli(['eval', '--input', input, '--no-ablation', '--baseline', join(dir, 'in', 'metrics.json'), '--out', join(dir, 'in2')]);
    expect(c.status).toBe(0);
    const before = /^all \(before\)\s+(.*)$/m.exec(c.stdout);
    const after = /^all \(after\)\s+(.*)$/m.exec(c.stdout);
    expect(before && after && before[1]).toBe(after![1]);
    expect(readFileSync(join(dir, 'in2', 'report.html'), 'utf8')).toMatch(/id="before-after"[\s\S]*all \(before\)/);
    expect(cli(['eval', '--input', input, '--baseline', join(dir, 'nope.json'), '--out', join(dir, 'in3')]).status).toBe(2);
  }, 600_000);

  it('--regime mixed: the simulator quiet regime is read from the seed\'s schedule and its BREAK/REJECT signals reported', () => {
    const out = join(dir, 'mixed');
    const r = cli(['eval', '--sim', '--regime', 'mixed', '--seeds', '3', '--duration', '25m', '--no-ablation', '--workers', '0', '--out', out]);
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.source).toMatchObject({ kind: 'sim', regime: 'mixed' });
    const quietMin = regimeSchedule('mixed', 3, 25 * 60_000)
      .filter((s) => s.regime === 'quiet')
      .reduce((a, s) => a + (s.endMs - s.startMs) / 60_000, 0);
    expect(quietMin).toBeGreaterThan(0);
    const q = m.variants.all.quiet_regime;
    expect(q.hours * 60).toBeCloseTo(quietMin, 0);
    expect(r.stdout).toContain(`simulator quiet regime: ${q.hours.toFixed(2)} h, BREAK ${q.BREAK}, REJECT ${q.REJECT} (target: 0 and 0)`);
    // The signals are what the engine emits: its discrete events when it has them (signal.* config), by type.
    const s = m.variants.all.signals;
    expect(['events', 'transitions']).toContain(s.source);
    expect(s.BREAK + s.REJECT).toBe(s.total);
    expect(r.stdout).toMatch(new RegExp(`signals are .*: BREAK ${s.BREAK}, REJECT ${s.REJECT}`));
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/id="quiet-regime"[\s\S]*id="by-regime"/);
    // By regime: every regime of the schedule, hours adding up to the session, episodes to the total.
    const sched = regimeSchedule('mixed', 3, 25 * 60_000);
    expect(Object.keys(m.variants.all.by_regime).sort()).toEqual([...new Set(sched.map((x) => x.regime))].sort());
    const byR = Object.values(m.variants.all.by_regime) as { hours: number; episodes: number }[];
    expect(byR.reduce((a, g) => a + g.hours, 0)).toBeCloseTo(m.variants.all.hours, 6);
    expect(byR.reduce((a, g) => a + g.episodes, 0)).toBe(m.variants.all.episodes.total);
    expect(m.variants.all.by_regime.quiet.signals).toEqual({ BREAK: q.BREAK, REJECT: q.REJECT });
    // Without regime information (the default world) there is no simulator quiet regime to report.
    const plain = JSON.parse(readFileSync(join(dir, 'sim', 'metrics.json'), 'utf8'));
    expect(plain.variants.all.quiet_regime).toBeNull();
  }, 900_000);

  it('with the calibration map off, writes and prints the isotonic map fitted to its reliability bins (a valid score.calibration)', () => {
    const cfgFile = join(dir, 'map-off.json');
    writeFileSync(cfgFile, JSON.stringify({ score: { calibration: [] } }));
    const out = join(dir, 'fit');
    const r = cli(['eval', '--sim', '--seeds', '2', '--duration', '10m', '--no-ablation', '--config', cfgFile, '--out', out]);
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const knots = m.fitted_calibration as Array<[number, number]>;
    expect(knots.length).toBeGreaterThan(0);
    for (let i = 1; i < knots.length; i++) {
      expect(knots[i]![0]).toBeGreaterThan(knots[i - 1]![0]);
      expect(knots[i]![1]).toBeGreaterThanOrEqual(knots[i - 1]![1]);
    }
    expect(r.stdout).toContain(`fitted score.calibration (S̃ was published uncalibrated): ${JSON.stringify(knots)}`);
    // The fitted map is accepted as the config key it is meant for.
    writeFileSync(cfgFile, JSON.stringify({ score: { calibration: knots } }));
    const again = cli(['eval', '--sim', '--seeds', '2', '--duration', '2m', '--no-ablation', '--config', cfgFile, '--out', join(dir, 'fit2')]);
    expect(again.status).toBe(0);
    // A run through a map fits nothing (its bins are not S̃'s).
    expect(JSON.parse(readFileSync(join(dir, 'fit2', 'metrics.json'), 'utf8')).fitted_calibration).toBeUndefined();
  }, 900_000);

  it('refuses an unknown --regime (exit 2)', () => {
    const r = cli(['eval', '--sim', '--regime', 'calm', '--out', join(dir, 'o3')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--regime must be one of session, quiet, trending, pinned, news, mixed/);
  }, 120_000);

  it('refuses --input together with --sim (exit 2)', () => {
    const r = cli(['eval', '--sim', '--input', join(dir, 'x.jsonl'), '--out', join(dir, 'o2')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/either --input FILE or --sim/);
  }, 120_000);
});
