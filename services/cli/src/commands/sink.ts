// `snap-engine sink lake|redis`: the signals fan-out (services/lake-sink; docs/fanout.md).
import { Command } from 'commander';
import { createLogger, loadConfig } from '@snap/platform';
import { runLakeSink, runRedisSink } from '@snap/lake-sink';

const usage = (msg: string) => Object.assign(new Error(msg), { exitCode: 2 });

export function register(program: Command) {
  const sink = program
    .command('sink')
    .description('signals fan-out: levels.signals.v1 → Gold Parquet lake (S3/MinIO or local) and latest features per level in Redis');

  sink
    .command('lake')
    .description(
      'consume levels.signals.v1 (read_committed) and write ZSTD Parquet objects under gold/levels/signals/underlying=…/date=…/hour=…, ' +
        'one per offset window of lake.flush_rows offsets, named part-<topic>-p<P>-o<windowStart>.parquet; offsets are committed after the objects are written',
    )
    .option('--until-idle', 'exit 0 once every assigned partition is written (the open window as a partial object) and committed')
    .option('--target <target>', 'local (under lake.data_root / DATA_ROOT) or s3 (s3.bucket at s3.endpoint); default lake.sink_target')
    .option('--group <id>', 'consumer group id (default lake.sink_group_id)')
    .action(async (opts: { untilIdle?: boolean; target?: string; group?: string }) => {
      if (opts.target !== undefined && opts.target !== 'local' && opts.target !== 's3') throw usage(`--target must be local or s3, got ${JSON.stringify(opts.target)}`);
      const cfg = loadConfig({ file: program.opts().config });
      const logger = createLogger({ name: 'lake-sink', level: cfg.log.level });
      const r = await runLakeSink({ cfg, logger, untilIdle: !!opts.untilIdle, target: opts.target as 'local' | 's3' | undefined, groupId: opts.group });
      process.stdout.write(JSON.stringify({ target: r.target, ...r.lake, skipped: r.consumer.skipped, commits: r.consumer.commits }) + '\n');
    });

  sink
    .command('redis')
    .description(
      'consume levels.signals.v1 (read_committed) and keep the latest features per level in Redis: hash <prefix>levels:{U}:<level_id>, ' +
        'index zset <prefix>levels:{U}; written by compare-and-set on ts_event_ns, so a replay never regresses them',
    )
    .option('--until-idle', 'exit 0 once every assigned partition is written and committed')
    .option('--group <id>', 'consumer group id (default redis.sink_group_id)')
    .action(async (opts: { untilIdle?: boolean; group?: string }) => {
      const cfg = loadConfig({ file: program.opts().config });
      const logger = createLogger({ name: 'redis-sink', level: cfg.log.level });
      const r = await runRedisSink({ cfg, logger, untilIdle: !!opts.untilIdle, groupId: opts.group });
      process.stdout.write(JSON.stringify({ ...r.redis, rows: r.consumer.rows, skipped: r.consumer.skipped, commits: r.consumer.commits }) + '\n');
    });
}
