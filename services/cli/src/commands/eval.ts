// `snap-engine eval [--input FILE.jsonl | --sim --seeds 1-20 --duration 6.5h] --out DIR`: signal quality of the engine
// as it is (issue 9). Runs the embedded engine (runEmbedded, the same path as `run` and `demo`) once per ablation
// variant over each session, labels every level-touch episode from later prices (@snap/core eval), and writes
// DIR/metrics.json and a self-contained DIR/report.html; a headline table goes to stdout, a progress line per seed
// (percent, ETA) to stderr. Seeds run in worker threads (--workers, default min(2, seeds)).
// Exit codes: 0 done · 1 runtime failure · 2 usage/config error.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { Command, InvalidArgumentError } from 'commander';
import {
  ABLATION_VARIANTS,
  ConfigError,
  EvalCollector,
  HEADLINE_HEAD,
  ablationConfig,
  computeMetrics,
  evaluateSession,
  evalParams,
  fitCalibration,
  beforeAfterRows,
  headlineRows,
  mergeEvals,
  regimeAt,
  regimeSchedule,
  renderReportHtml,
  simulateSession,
  SESSION_DEFAULT_START_NS,
  SESSION_REGIMES,
  isSessionRegime,
  type AblationVariant,
  type Config,
  type EvalReport,
  type InputEvent,
  type Metrics,
  type SessionEval,
  type SessionRegime,
  InputDiagnostics,
} from '@snap/core';
import { loadConfig } from '@snap/platform';
import { runEmbedded } from '@snap/processor';
import { parseDurationMs } from '../args';
import { readEventsJsonl } from './run';

export type Regime = SessionRegime;

/** "1-20", "11-30", "1,3,5", "1-3,7" → sorted distinct seeds. */
export function parseSeeds(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected seeds like 1-20 or 1,3,5 (got ${JSON.stringify(text)})`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new InvalidArgumentError(`seed range ${part.trim()} runs backwards`);
    if (b - a > 10_000) throw new InvalidArgumentError(`seed range ${part.trim()} is too long`);
    for (let s = a; s <= b; s++) out.add(s);
  }
  return [...out].sort((x, y) => x - y);
}

function sessionEvents(regime: Regime, seed: number, durationMs: number): Iterable<InputEvent> {
  return simulateSession({ seed, durationMs, regime });
}

export interface SeedJob {
  cfg: Config;
  variants: AblationVariant[];
  underlying: string;
  seed?: number;
  durationMs?: number;
  regime?: Regime;
  input?: string;
}

export interface SeedResult {
  seed: number | null;
  events: number;
  evals: Partial<Record<AblationVariant, SessionEval>>;
}

/** One session (a seed of the simulator, or the input file) through every variant of the engine. */
export async function evaluateJob(job: SeedJob): Promise<SeedResult> {
  // Materialised once and replayed per variant: the simulator costs about as much as the engine per event.
  const events: InputEvent[] = [];
  if (job.input !== undefined) for await (const ev of readEventsJsonl(job.input)) events.push(ev);
  else for (const ev of sessionEvents(job.regime ?? 'session', job.seed!, job.durationMs!)) events.push(ev);
  if (job.input !== undefined) {
    // The input diagnostics `run` gives (core input-needs.ts): a missing or stale input is named once with its fix.
    const diag = new InputDiagnostics(job.cfg);
    for (const ev of events) for (const issue of diag.observe(ev)) process.stderr.write(`snap-engine eval: ${issue.message}\n`);
    for (const issue of diag.finish()) process.stderr.write(`snap-engine eval: ${issue.message}\n`);
  }
  const params = evalParams(job.cfg);
  const evals: SeedResult['evals'] = {};
  // An engine with discrete events has signal.* keys; it leaves payload.events out on ticks without one, so a
  // session without any event (a quiet market) must not fall back to counting transitions.
  const source = 'signal' in job.cfg ? 'events' : 'auto';
  const schedule = job.input === undefined && job.regime !== undefined && job.regime !== 'session' ? regimeSchedule(job.regime, job.seed!, job.durationMs!) : null;
  const startMs = Number(SESSION_DEFAULT_START_NS / 1_000_000n);
  for (const v of job.variants) {
    const cfg = ablationConfig(job.cfg, v);
    const col = new EvalCollector(cfg.levels.monitor_band, source);
    await runEmbedded({
      cfg,
      source: events,
      sinks: [{ onPayload: (p) => (p.underlying === job.underlying ? col.onPayload(p) : undefined), close: () => undefined }],
      streams: job.input !== undefined ? 'single' : 'by-schema',
    });
    const regimes = schedule ? col.ticks.map((t) => regimeAt(schedule, t.tMs - startMs)) : undefined;
    evals[v] = evaluateSession(col.ticks, col.obs, params, { source: col.signalSource(), stray: col.stray, ...(regimes ? { regimes } : {}) });
  }
  return { seed: job.seed ?? null, events: events.length, evals };
}

/** Worker thread entry (see runSeeds). */
export function workerMain(): void {
  const job = workerData as SeedJob;
  evaluateJob(job).then(
    (r) => parentPort!.postMessage({ ok: true, result: r }),
    (e: unknown) => parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
}

function runInWorker(job: SeedJob): Promise<SeedResult> {
  // The worker loads TypeScript the way the CLI does (the compiled build, else tsx): bin/register.js.
  const register = join(__dirname, '..', '..', 'bin', 'register.js');
  const code = `require(${JSON.stringify(register)}); require(${JSON.stringify(__filename)}).workerMain();`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: job });
    let settled = false;
    w.once('message', (m: { ok: boolean; result?: SeedResult; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.result!);
      else reject(new Error(`seed ${job.seed}: ${m.error}`));
      void w.terminate();
    });
    w.once('error', (e) => {
      if (!settled) reject(e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`seed ${job.seed}: worker exited with code ${code}`));
    });
  });
}

const hms = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** Runs the seeds with at most `workers` in flight (0 = in this thread), one progress line per finished seed. */
async function runSeeds(jobs: SeedJob[], workers: number, progress: (line: string) => void): Promise<SeedResult[]> {
  const results: SeedResult[] = new Array(jobs.length);
  const started = Date.now();
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      const r = workers > 0 ? await runInWorker(jobs[i]!) : await evaluateJob(jobs[i]!);
      results[i] = r;
      done++;
      const elapsed = Date.now() - started;
      const eta = (elapsed / done) * (jobs.length - done);
      const all = r.evals.all;
      progress(
        `eval: ${jobs[i]!.seed !== undefined ? `seed ${jobs[i]!.seed}` : jobs[i]!.input} done — ${done}/${jobs.length} (${Math.round((100 * done) / jobs.length)}%), ${r.events} events, ${all ? all.episodes.length : 0} episodes; elapsed ${hms(elapsed)}, ETA ${hms(eta)}`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers || 1, jobs.length)) }, lane));
  return results;
}

const DEFINITIONS: Record<string, string> = {
  episode: 'a level (by id) in its monitoring zone (|spot − level| ≤ levels.monitor_band at a snap tick) from the tick it enters until it leaves or eval.horizon_ms has passed; level price and direction frozen at the first tick',
  BREAK: 'spot goes through the level by ≥ eval.break_distance within eval.horizon_ms of the episode start',
  REJECT: 'spot touches the level (within eval.touch_band) and then moves ≥ eval.reject_distance back on the approach side, before any BREAK, within eval.horizon_ms',
  UNRESOLVED: 'neither within the horizon',
  signal: "the engine's discrete BREAK/REJECT event for a level (payload.events; metrics.signals.source = events); for an engine without events, a transition of a level's per-tick signal into BREAK or REJECT (source = transitions). An event for a level outside its monitoring zone has no episode and counts as false",
  forecast: "an episode's first signal strictly before its outcome (any time in the episode when UNRESOLVED); precision/recall/F1 count episodes by their forecast",
  'false signal': "a signal whose type differs from its episode's outcome (UNRESOLVED counts as false)",
  'quiet regime': 'snap ticks whose trailing eval.quiet_window_ms range of spot is ≤ eval.quiet_range (past ticks only)',
  'simulator quiet regime': "ticks the simulator generated in its quiet regime (--regime quiet, or the quiet segments of --regime mixed, from regimeSchedule): quiet_regime counts the BREAK and REJECT signals there (acceptance: zero)",
  'by regime': "episodes by the simulator's regime at their first tick and signals by the regime at their tick (regimeSchedule; --regime other than session)",
  reliability: 'every tick of a resolved episode before its outcome: break_score_smooth/100 binned (eval.reliability_bins) against the share of those readings whose episode broke; ECE = Σ n_b/N·|mean score_b − break rate_b|',
  ablation: 'barrier_only: score.w_l=1, w_h=w_t=0; tape_only: w_t=1; fuel_only: w_h=1; all: the configured weights',
};

export function register(program: Command) {
  program
    .command('eval')
    .description('signal quality: label every level-touch episode from later prices and score the engine (precision/recall/F1, lead time, calibration, ablation) → DIR/metrics.json + DIR/report.html')
    .option('--input <file>', 'normalized events (JSONL, as for `run --input`) instead of the simulator')
    .option('--sim', 'evaluate simulated sessions (the default when --input is not given)')
    .option('--seeds <list>', 'simulator seeds: 1-20, 11-30, 1,3,5', parseSeeds, [1])
    .option('--duration <dur>', 'event-time length of each simulated session (6.5h, 30m, 90s)', parseDurationMs, 6.5 * 3_600_000)
    .option('--regime <name>', `simulated market: ${SESSION_REGIMES.join('|')} — session: the default free-running session (wandering fair value, momentum/pin bursts); quiet: the issue's balanced two-sided book with no options flow; trending, pinned, news; mixed: regimes switching over the day (docs/eval.md)`, 'session')
    .option('--workers <n>', 'worker threads across seeds (0 = run in this thread)', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected a non-negative integer (got ${JSON.stringify(v)})`);
      return Number(v);
    })
    .option('--no-ablation', 'score the configured weights only (skip barrier/tape/fuel-only runs)')
    .option('--baseline <metrics.json>', "an earlier run's metrics.json (e.g. before an engine change): report.html and stdout show its headline next to this run's")
    .requiredOption('--out <dir>', 'output directory for metrics.json and report.html')
    .action(async (opts: { input?: string; sim?: boolean; seeds: number[]; duration: number; regime: string; workers?: number; ablation: boolean; baseline?: string; out: string }) => {
      let cfg: Config;
      try {
        cfg = loadConfig({ file: program.opts().config });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`snap-engine eval: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      if (opts.input !== undefined && opts.sim) {
        process.stderr.write('snap-engine eval: give either --input FILE or --sim, not both\n');
        process.exitCode = 2;
        return;
      }
      if (!isSessionRegime(opts.regime)) {
        process.stderr.write(`snap-engine eval: --regime must be one of ${SESSION_REGIMES.join(', ')} (got ${JSON.stringify(opts.regime)})\n`);
        process.exitCode = 2;
        return;
      }
      const regime: Regime = opts.regime;
      let baseline: EvalReport['baseline'];
      if (opts.baseline !== undefined) {
        try {
          const b = JSON.parse(readFileSync(opts.baseline, 'utf8')) as EvalReport;
          if (b.version !== 1 || typeof b.variants !== 'object') throw new Error('not a snap-engine eval metrics.json (version 1)');
          baseline = { file: opts.baseline, command: b.command, headline: headlineRows(b.variants) };
        } catch (e) {
          process.stderr.write(`snap-engine eval: --baseline ${opts.baseline}: ${(e as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
      }
      const underlying = cfg.underlyings[0]!;
      const variants: AblationVariant[] = opts.ablation ? [...ABLATION_VARIANTS] : ['all'];
      const jobs: SeedJob[] =
        opts.input !== undefined
          ? [{ cfg, variants, underlying, input: opts.input }]
          : opts.seeds.map((seed) => ({ cfg, variants, underlying, seed, durationMs: opts.duration, regime }));
      const workers = opts.input !== undefined ? 0 : (opts.workers ?? Math.min(2, jobs.length));
      const started = Date.now();
      process.stderr.write(
        opts.input !== undefined
          ? `eval: ${opts.input}, ${variants.length} variant(s)\n`
          : `eval: ${jobs.length} seed(s) × ${hms(opts.duration)} of ${regime} market × ${variants.length} variant(s), ${workers} worker(s)\n`,
      );
      let results: SeedResult[];
      try {
        results = await runSeeds(jobs, workers, (l) => process.stderr.write(l + '\n'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          process.stderr.write(`snap-engine eval: cannot read ${opts.input}: no such file\n`);
          process.exitCode = 1;
          return;
        }
        process.stderr.write(`snap-engine eval: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
        return;
      }
      const bins = cfg.eval.reliability_bins;
      const metrics: Partial<Record<AblationVariant, Metrics>> = {};
      for (const v of variants) metrics[v] = computeMetrics(mergeEvals(results.map((r) => r.evals[v]!), bins));
      const report: EvalReport = {
        version: 1,
        command: ['snap-engine', ...process.argv.slice(2)].join(' '),
        source:
          opts.input !== undefined
            ? { kind: 'input', input: opts.input, underlying }
            : { kind: 'sim', seeds: opts.seeds, duration_ms: opts.duration, regime, underlying },
        definitions: DEFINITIONS,
        params: { ...evalParams(cfg), w_l: cfg.score.w_l, w_h: cfg.score.w_h, w_t: cfg.score.w_t, break_threshold: cfg.score.break_threshold, reject_threshold: cfg.score.reject_threshold },
        variants: metrics,
        per_seed: results.map((r) => {
          const m = computeMetrics(mergeEvals([r.evals[variants[0]!]!], bins));
          return { seed: r.seed, events: r.events, episodes: m.episodes.total, break_f1: m.BREAK.f1, reject_precision: m.REJECT.precision };
        }),
        ...(baseline ? { baseline } : {}),
      };
      const main = metrics.all ?? Object.values(metrics)[0]!;
      if (cfg.score.calibration.length === 0) report.fitted_calibration = fitCalibration(main.reliability.bins);
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
      writeFileSync(join(opts.out, 'report.html'), renderReportHtml(report));
      const rows = baseline ? beforeAfterRows(baseline.headline, headlineRows(metrics)) : headlineRows(metrics);
      const widths = HEADLINE_HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      process.stdout.write([line(HEADLINE_HEAD), ...rows.map(line)].join('\n') + '\n');
      process.stdout.write(`signals are ${main.signals.source === 'events' ? 'discrete events' : main.signals.source}: BREAK ${main.signals.BREAK}, REJECT ${main.signals.REJECT} (all engines)\n`);
      for (const [r, g] of Object.entries(main.by_regime ?? {}))
        process.stdout.write(`  regime ${r.padEnd(8)} ${g.hours.toFixed(2)} h, ${g.episodes} episodes (BREAK ${g.BREAK_outcomes}, REJECT ${g.REJECT_outcomes}), signals BREAK ${g.signals.BREAK} REJECT ${g.signals.REJECT}\n`);
      if (report.fitted_calibration)
        process.stdout.write(`fitted score.calibration (S̃ was published uncalibrated): ${JSON.stringify(report.fitted_calibration)}\n`);
      if (main.quiet_regime) process.stdout.write(`simulator quiet regime: ${main.quiet_regime.hours.toFixed(2)} h, BREAK ${main.quiet_regime.BREAK}, REJECT ${main.quiet_regime.REJECT} (target: 0 and 0)\n`);
      process.stderr.write(`eval: wrote ${join(opts.out, 'metrics.json')} and ${join(opts.out, 'report.html')} in ${hms(Date.now() - started)}\n`);
    });
}
