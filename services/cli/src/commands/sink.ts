// `snap-engine sink lake|redis`: the signals fan-out (services/lake-sink; docs/fanout.md).
import { Command } from 'commander';
import { Progress, createLogger, formatDuration, loadConfig, preflight, printSummary } from '@snap/platform';
import { runLakeSink, runRedisSink, type LakeTier } from '@snap/lake-sink';
import { serveFeedMetrics } from '@snap/feeds';
import { Registry, collectDefaultMetrics } from 'prom-client';

const usage = (msg: string) => Object.assign(new Error(msg), { exitCode: 2 });

const portArg = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usage(`--metrics-port must be an integer 0..65535, got ${JSON.stringify(v)}`);
  return n;
};

/** --metrics-port: /healthz (200 while the sink runs, 503 once it failed) and /metrics (process metrics) for Kubernetes probes and scraping. */
async function withHealth<T>(name: string, port: number | undefined, run: () => Promise<T>): Promise<T> {
  if (port === undefined) return run();
  const registry = new Registry();
  registry.setDefaultLabels({ sink: name });
  collectDefaultMetrics({ register: registry, prefix: 'snap_sink_' });
  let failed = false;
  const http = await serveFeedMetrics(registry, port, () => !failed);
  try {
    return await run();
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    http.server.close();
  }
}

export function register(program: Command) {
  const sink = program
    .command('sink')
    .description('fan-out: levels.signals.v1 → Gold and input topics → Bronze Parquet lake (S3/MinIO or local); latest features per level in Redis');

  sink
    .command('lake')
    .description(
      'consume levels.signals.v1 (Gold) and the input topics (Bronze) read_committed and write ZSTD Parquet objects under e.g. gold/levels/signals/underlying=…/date=…/hour=…, ' +
        'one per offset window (at most lake.flush_rows offsets, closed earlier at lake.max_file_age_ms of event time or lake.max_file_bytes; deterministic), named part-<topic>-p<P>-o<windowStart>.parquet; offsets are committed after the objects are written; ' +
        'a failed PUT (store restarting) is retried with backoff until it succeeds',
    )
    .option('--until-idle', 'exit 0 once every assigned partition is written (the open window as a partial object) and committed')
    .option('--target <target>', 'local (under lake.data_root / DATA_ROOT) or s3 (s3.bucket at s3.endpoint); default lake.sink_target')
    .option('--tiers <list>', 'comma-separated: gold (levels.signals.v1) and/or bronze (the input topics, raw); default lake.sink_tiers')
    .option('--group <id>', 'consumer group id (default lake.sink_group_id)')
    .option('--metrics-port <n>', 'serve /healthz and /metrics on this port (0 = any free port)', portArg)
    .action(async (opts: { untilIdle?: boolean; target?: string; tiers?: string; group?: string; metricsPort?: number }) => {
      if (opts.target !== undefined && opts.target !== 'local' && opts.target !== 's3') throw usage(`--target must be local or s3, got ${JSON.stringify(opts.target)}`);
      let tiers: LakeTier[] | undefined;
      if (opts.tiers !== undefined) {
        const list = opts.tiers.split(',').map((t) => t.trim()).filter(Boolean);
        const bad = list.filter((t) => t !== 'gold' && t !== 'bronze');
        if (!list.length || bad.length) throw usage(`--tiers takes gold and/or bronze, got ${JSON.stringify(opts.tiers)}`);
        tiers = [...new Set(list)] as LakeTier[];
      }
      const cfg = loadConfig({ file: program.opts().config });
      const logger = createLogger({ name: 'lake-sink', level: cfg.log.level });
      // A broker or store that is not there: one line naming it and the fix (UnreachableError), before any retry loop.
      await preflight(cfg, (opts.target ?? cfg.lake.sink_target) === 's3' ? ['kafka', 's3'] : ['kafka']);
      const started = Date.now();
      const bar = untilIdleProgress('sink lake', opts.untilIdle);
      const r = await withHealth('lake', opts.metricsPort, () =>
        runLakeSink({ cfg, logger, untilIdle: !!opts.untilIdle, target: opts.target as 'local' | 's3' | undefined, tiers, groupId: opts.group, onProgress: bar?.onProgress }),
      ).finally(() => bar?.progress.finish());
      process.stdout.write(JSON.stringify({ target: r.target, ...r.lake, skipped: r.consumer.skipped, commits: r.consumer.commits }) + '\n');
      printSummary('sink lake', { target: r.target, ...r.lake, skipped: r.consumer.skipped, commits: r.consumer.commits, wall_time: formatDuration((Date.now() - started) / 1000) });
    });

  sink
    .command('redis')
    .description(
      'consume levels.signals.v1 (read_committed) and keep the latest features per level in Redis: hash <prefix>levels:{U}:<level_id>, ' +
        'index zset <prefix>levels:{U}; written by compare-and-set on ts_event_ns, so a replay never regresses them. Redis outages are retried with backoff; ' +
        'after a reconnect every level\'s newest row is re-asserted',
    )
    .option('--until-idle', 'exit 0 once every assigned partition is written and committed')
    .option('--group <id>', 'consumer group id (default redis.sink_group_id)')
    .option('--rebuild', 'first rebuild every level\'s latest features from the start of the signals topic (e.g. after Redis lost its data), then run as usual')
    .option('--metrics-port <n>', 'serve /healthz and /metrics on this port (0 = any free port)', portArg)
    .action(async (opts: { untilIdle?: boolean; group?: string; rebuild?: boolean; metricsPort?: number }) => {
      const cfg = loadConfig({ file: program.opts().config });
      const logger = createLogger({ name: 'redis-sink', level: cfg.log.level });
      await preflight(cfg, ['kafka', 'redis']);
      const started = Date.now();
      const bar = untilIdleProgress('sink redis', opts.untilIdle);
      const r = await withHealth('redis', opts.metricsPort, () => runRedisSink({ cfg, logger, untilIdle: !!opts.untilIdle, groupId: opts.group, rebuild: !!opts.rebuild, onProgress: bar?.onProgress })).finally(() =>
        bar?.progress.finish(),
      );
      process.stdout.write(JSON.stringify({ ...r.redis, rows: r.consumer.rows, skipped: r.consumer.skipped, commits: r.consumer.commits, ...(r.rebuild ? { rebuild: r.rebuild } : {}) }) + '\n');
      printSummary('sink redis', { ...r.redis, rows: r.consumer.rows, skipped: r.consumer.skipped, commits: r.consumer.commits, wall_time: formatDuration((Date.now() - started) / 1000) });
    });
}

/** `--until-idle` is finite work: a bar (TTY) or JSON progress lines of offsets read against the end offsets. A long-running sink logs its own progress. */
function untilIdleProgress(label: string, untilIdle: boolean | undefined): { progress: Progress; onProgress: (done: number, total: number) => void } | null {
  if (!untilIdle) return null;
  const progress = new Progress({ label, unit: 'offsets' });
  return {
    progress,
    onProgress: (done, total) => {
      progress.setTotal(total);
      progress.update(done);
    },
  };
}
