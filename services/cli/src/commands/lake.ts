// `snap-engine lake compact`: Bronze → Silver (services/lake-sink/src/compact.ts; docs/lake.md).
import { Command } from 'commander';
import { Progress, UsageError, createLogger, loadConfig, preflight, printSummary } from '@snap/platform';
import { COMPACT_DATASETS, compactDate, lakeStoreFor, type CompactSummary } from '@snap/lake-sink';

const usage = (msg: string) => new UsageError(msg);

const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function register(program: Command) {
  const lake = program.command('lake').description('lake maintenance: Bronze → Silver compaction, Gold level_features');

  lake
    .command('compact')
    .description(
      'compact one date of Bronze into Silver under silver/ (same partition layout): dedup on event_id, sorted by event time, files near lake.target_file_bytes, ' +
        'plus options.trades_enriched.v1 (as-of greeks join within lake.enrich_tolerance_ms) and Gold gold/features/level_features (one row per level per tick, every numeric feature). Idempotent (an unchanged partition is not rewritten) and crash-safe ' +
        '(each partition commits by its _manifest.json; a rerun removes uncommitted files). Prints one JSON summary line',
    )
    .option('--date <YYYY-MM-DD>', 'UTC date to compact (required unless --schedule)')
    .option('--dataset <name...>', `only these datasets: ${COMPACT_DATASETS.join(', ')}`)
    .option('--target <target>', 'local (under lake.data_root / DATA_ROOT) or s3 (s3.bucket at s3.endpoint); default lake.sink_target')
    .option('--schedule', 'keep running: compact today\'s and yesterday\'s (UTC) dates every lake.compact_interval_ms until SIGTERM/SIGINT')
    .option('--no-labels', 'level_features without the outcome label columns (label_outcome, label_outcome_ts_event_ns; eval.* definitions)')
    .option('--quiet', 'no progress and no summary on stderr (the JSON summary line on stdout stays)')
    .action(async (opts: { date?: string; dataset?: string[]; target?: string; schedule?: boolean; quiet?: boolean; labels: boolean }) => {
      if (opts.target !== undefined && opts.target !== 'local' && opts.target !== 's3') throw usage(`--target must be local or s3, got ${JSON.stringify(opts.target)}`);
      if (!opts.schedule && !opts.date) throw usage('--date YYYY-MM-DD is required (or --schedule)');
      if (opts.date && !/^\d{4}-\d{2}-\d{2}$/.test(opts.date)) throw usage(`--date must be YYYY-MM-DD, got ${JSON.stringify(opts.date)}`);
      const bad = (opts.dataset ?? []).filter((d) => !COMPACT_DATASETS.includes(d));
      if (bad.length) throw usage(`--dataset: unknown ${bad.join(', ')}; one of ${COMPACT_DATASETS.join(', ')}`);
      const cfg = loadConfig({ file: program.opts().config });
      const logger = createLogger({ name: 'lake-compact', level: cfg.log.level });
      const store = lakeStoreFor(cfg, (opts.target as 'local' | 's3' | undefined) ?? cfg.lake.sink_target);
      const run = async (date: string): Promise<CompactSummary> => {
        const started = Date.now();
        const progress = new Progress({ label: `lake compact ${date}`, unit: 'partitions', mode: opts.quiet ? 'off' : undefined });
        let s: CompactSummary;
        try {
          s = await compactDate({
            store,
            keyPrefix: cfg.lake.key_prefix,
            date,
            datasets: opts.dataset,
            targetFileBytes: cfg.lake.target_file_bytes,
            enrichToleranceNs: BigInt(cfg.lake.enrich_tolerance_ms) * 1_000_000n,
            sessionAnchor: cfg.levels.vwap_anchor,
            labels: opts.labels
              ? { monitorBand: cfg.levels.monitor_band, breakDistance: cfg.eval.break_distance, rejectDistance: cfg.eval.reject_distance, touchBand: cfg.eval.touch_band, horizonMs: cfg.eval.horizon_ms }
              : undefined,
            logger,
            onProgress: (p) => {
              progress.setTotal(p.total);
              progress.update(p.done, { rows: p.rows });
            },
          });
        } finally {
          progress.finish();
        }
        const elapsed_s = Number(((Date.now() - started) / 1000).toFixed(2));
        if (!opts.quiet) {
          printSummary('lake compact', {
            date: s.date,
            target: s.target,
            partitions: `${s.partitions} (${s.up_to_date} up to date)`,
            rows: `${s.rows} of ${s.rows_in} read (${s.duplicates} duplicates dropped)`,
            enriched_option_trades: `${s.enriched_rows} (${s.joined} with greeks within ${cfg.lake.enrich_tolerance_ms} ms)`,
            level_feature_rows: s.feature_rows,
            files: `${s.files_written} written (${s.bytes_written} bytes), ${s.files_deleted} deleted`,
            elapsed_s,
          });
        }
        process.stdout.write(JSON.stringify({ ...s, elapsed_s }) + '\n');
        return s;
      };
      // An unreachable MinIO/S3 is named with its address (exit 1) instead of an SDK stack.
      if (((opts.target as 'local' | 's3' | undefined) ?? cfg.lake.sink_target) === 's3') await preflight(cfg, ['s3']);
      try {
        await store.prepare();
        if (!opts.schedule) {
          await run(opts.date!);
          return;
        }
        let stopping = false;
        let wake: (() => void) | null = null;
        let timer: NodeJS.Timeout | undefined;
        const stop = () => {
          stopping = true;
          clearTimeout(timer);
          wake?.();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        try {
          while (!stopping) {
            const now = Date.now();
            for (const d of opts.date ? [opts.date] : [utcDate(now - 86_400_000), utcDate(now)]) {
              if (stopping) break;
              try {
                await run(d);
              } catch (e) {
                // A failed pass (store briefly down) is retried at the next one; the manifests keep it consistent.
                logger.error('scheduled compaction failed; retried at the next pass', { date: d, error: e as Error });
              }
            }
            if (stopping) break;
            await new Promise<void>((resolve) => {
              wake = resolve;
              timer = setTimeout(resolve, cfg.lake.compact_interval_ms);
            });
            wake = null;
          }
        } finally {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        }
      } finally {
        store.close();
      }
    });
}
