// `snap-engine demo` (also `npm run demo`): the embedded default, no servers — the simulator → in-process bus →
// the core → Gold Parquet (ZSTD) under DATA_ROOT, with a live summary on stderr and a final report on stdout.
// Same seed (and config) ⇒ byte-identical signal rows.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, simulateSession, type Config } from '@snap/core';
import { createLogger, loadConfig } from '@snap/platform';
import { GoldParquetSink, JsonlPayloadSink, LiveSummarySink, runEmbedded, type EmbeddedSink } from '@snap/processor';

/** "10m", "90s", "1h", "500ms"; a bare number is seconds. */
export function parseDemoDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new InvalidArgumentError(`expected a duration like 10m, 90s (got ${JSON.stringify(text)})`);
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h']);
  if (ms <= 0) throw new InvalidArgumentError(`duration must be positive (got ${JSON.stringify(text)})`);
  return ms;
}

const seedArg = (text: string) => {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`expected a non-negative integer seed (got ${JSON.stringify(text)})`);
  return Number(text);
};

export function register(program: Command) {
  program
    .command('demo')
    .description('embedded demo: simulator → in-process bus → core → Gold Parquet (ZSTD) under DATA_ROOT, with a live summary')
    .option('--seed <n>', 'simulator seed', seedArg, 1)
    .option('--duration <dur>', 'event-time length of the simulated session', parseDemoDuration, 5 * 60_000)
    .option('--out <dir>', 'lake root for the Gold Parquet (default: config lake.data_root / DATA_ROOT)')
    .option('--payloads <file>', 'also write every §6.4 payload as JSONL')
    .action(async (opts: { seed: number; duration: number; out?: string; payloads?: string }) => {
      let cfg: Config;
      try {
        cfg = loadConfig({ file: program.opts().config });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`snap-engine demo: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      const log = createLogger({ name: 'demo', level: cfg.log.level });
      const dataRoot = opts.out ?? cfg.lake.data_root;
      const underlying = cfg.underlyings[0]!;
      const gold = new GoldParquetSink(dataRoot, cfg.lake.flush_rows);
      const summary = new LiveSummarySink();
      const sinks: EmbeddedSink[] = [gold, summary];
      const payloads = opts.payloads ? new JsonlPayloadSink(opts.payloads) : null;
      if (payloads) sinks.push(payloads);
      const started = Date.now();
      log.info('demo start', { seed: opts.seed, duration_ms: opts.duration, underlying, data_root: dataRoot, barrier_source: cfg.barrier.source });
      const stats = await runEmbedded({
        cfg,
        source: simulateSession({ seed: opts.seed, durationMs: opts.duration, underlying }),
        sinks,
        streams: 'by-schema',
        progressEvery: 1000,
        onProgress: (s) => {
          summary.events = s.events;
        },
      });
      summary.events = stats.events;
      const wallMs = Date.now() - started;
      const report = {
        seed: opts.seed,
        event_time_ms: opts.duration,
        events: stats.events,
        payloads: stats.payloads,
        signal_rows: stats.signalRows,
        signals: summary.counts,
        wall_ms: wallMs,
        events_per_s: Math.round(stats.events / Math.max(1e-3, wallMs / 1000)),
        files: gold.files.map((f) => ({ path: f.path, rows: f.rows, bytes: f.bytes })),
      };
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    });
}
