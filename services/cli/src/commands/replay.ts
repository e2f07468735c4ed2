// `snap-engine replay`: recompute signals from the input log by offset or time, into a separate topic (or reset a
// consumer group), with --dry-run plans and a --parity-against report. See docs/processor.md#replay.
//
// Exit codes: 0 done (and, with --parity-against, identical); 1 runtime failure; 2 usage/config error;
// 4 parity report found a difference.
import { Command } from 'commander';
import { createLogger, loadConfig } from '@snap/platform';
import { runLakeReplay, type LakeReplayCliOptions } from './replay-lake';
import { checkTimeZone, formatParityReport, parseOffsetSpec, parseTimeSpec, Replayer, ReplayError, type ReplayFrom } from '@snap/processor';

interface ReplayCliOptions {
  fromOffset?: string;
  fromTime?: string;
  untilTime?: string;
  warmupFrom?: string;
  group?: string;
  toTopic?: string;
  partitions?: string;
  dryRun?: boolean;
  parityAgainst?: string;
  json?: boolean;
  tz?: string;
  fromLake?: string;
}

const usage = (msg: string) => Object.assign(new Error(msg), { exitCode: 2 });

/** ns since the epoch → ISO UTC with the nanoseconds kept. */
const isoNs = (ns: string): string => {
  const n = BigInt(ns);
  const ms = n / 1_000_000n;
  return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${(n % 1_000_000_000n).toString().padStart(9, '0')}Z`);
};

export function register(program: Command) {
  program
    .command('replay')
    .description('replay the input log from an offset or time into a separate topic (or reset a consumer group); warm-up from the log start keeps it exact')
    .option('--from-offset <P:O[,P:O]>', 'start at these offsets (P:O = partition group P at offset O of the first input topic; or topic:P:O)')
    .option('--from-time <ISO|ns>', 'start at this event time: ISO 8601 WITH a zone (2025-12-22T15:00:00Z, 2025-12-22T10:00:00-05:00) or Unix ns; a time without a zone is refused unless --tz is given')
    .option('--until-time <ISO|ns>', 'last snap tick time to emit (inclusive; default: end of the log); same forms as --from-time')
    .option('--tz <zone>', 'IANA zone (e.g. America/New_York) in which ISO times WITHOUT a zone are read; never the machine\'s zone')
    .option('--warmup-from <earliest|ISO|ns>', 'where engine state warms up (output suppressed): earliest (default, exact) or a time', 'earliest')
    .option('--to-topic <name>', 'write the replayed signals into this topic (created like levels.signals.v1 if missing)')
    .option('--group <id>', 'instead: reset this consumer group\'s input offsets to the start (the group must be stopped)')
    .option('--partitions <p,p>', 'only these partition groups (default: all)')
    .option('--dry-run', 'print the plan (partitions, event-time offsets: the first record with ts_event_ns at/after each start, record counts) and do nothing')
    .option('--parity-against <topic|file.jsonl>', 'compare the replayed rows with these original signals and print a parity report')
    .option('--json', 'print the plan/result as JSON')
    .option('--from-lake <DIR|s3://bucket/prefix>', 'instead of Kafka: read the session back from the lake (Bronze/Silver Parquet, found by its _meta/ manifests); see docs/lake.md')
    .option('--underlying <U[,U]>', 'with --from-lake: the underlyings to replay (default: all configured)')
    .option('--from <ISO|ns>', 'with --from-lake: first snap tick time to emit (inclusive; same forms as --from-time)')
    .option('--to <ISO|ns>', 'with --from-lake: last snap tick time to emit (inclusive)')
    .option('--tier <tier>', 'with --from-lake: bronze (default) or silver')
    .option('--out <file.jsonl>', 'with --from-lake: write the signal rows as JSON lines (no Kafka needed)')
    .option('--run <id>', 'with --from-lake: the run (see _meta/runs/) when the lake holds several for the underlying')
    .action(async (o: ReplayCliOptions) => {
      const cfg = loadConfig({ file: program.opts().config });
      if (o.fromLake) return runLakeReplay(cfg, o as LakeReplayCliOptions);
      const lakeOnly = (['out', 'underlying', 'from', 'to', 'tier', 'run'] as const).filter((k) => (o as LakeReplayCliOptions)[k] !== undefined);
      if (lakeOnly.length) throw usage(`replay: --${lakeOnly[0]} needs --from-lake`);
      const logger = createLogger({ name: 'replay', level: cfg.log.level });
      if (!!o.fromOffset === !!o.fromTime) throw usage('replay: give exactly one of --from-offset or --from-time');
      if (!!o.toTopic === !!o.group) throw usage('replay: give exactly one of --to-topic or --group');
      if (o.parityAgainst && !o.toTopic) throw usage('replay: --parity-against needs --to-topic');
      let from: ReplayFrom;
      let groups: number[] | undefined;
      let untilNs: bigint | undefined;
      let warmupFrom: 'earliest' | bigint;
      try {
        const tz = o.tz === undefined ? undefined : checkTimeZone(o.tz);
        from = o.fromTime ? { kind: 'time', tsNs: parseTimeSpec(o.fromTime, '--from-time', tz) } : { kind: 'offsets', offsets: parseOffsetSpec(o.fromOffset!) };
        untilNs = o.untilTime ? parseTimeSpec(o.untilTime, '--until-time', tz) : undefined;
        warmupFrom = !o.warmupFrom || o.warmupFrom === 'earliest' ? 'earliest' : parseTimeSpec(o.warmupFrom, '--warmup-from', tz);
        if (untilNs !== undefined && from.kind === 'time' && untilNs < from.tsNs) throw new ReplayError(`--until-time (${untilNs}) is before --from-time (${from.tsNs})`, '--until-time');
        groups = o.partitions?.split(',').map((x) => {
          if (!/^\d+$/.test(x.trim())) throw new ReplayError(`--partitions: expected partition numbers, got ${JSON.stringify(x)}`, '--partitions');
          return Number(x);
        });
        if (from.kind === 'offsets' && !groups) groups = [...new Set(from.offsets.map((x) => x.partition))];
      } catch (e) {
        if (e instanceof ReplayError) throw usage(e.message);
        throw e;
      }
      const replayer = new Replayer({
        cfg,
        from,
        untilNs,
        warmupFrom,
        groups,
        target: o.toTopic ? { kind: 'topic', topic: o.toTopic } : { kind: 'group', groupId: o.group! },
        dryRun: !!o.dryRun,
        parityAgainst: o.parityAgainst,
        logger,
        progress: (msg) => process.stderr.write(msg + '\n'),
      });
      const r = await replayer.run();
      if (o.json) {
        process.stdout.write(JSON.stringify({ plan: r.plan, rows_written: r.rowsWritten, records_read: r.recordsRead, dead_letters: r.deadLetters, parity: r.parity ?? null }, null, 2) + '\n');
      } else {
        const p = r.plan;
        const lines = [
          `replay plan (${o.dryRun ? 'dry run' : p.mode}) → ${p.target}`,
          `  emit from: ${p.emit_from_ns === null ? '-' : `${p.emit_from_ns} ns (${isoNs(p.emit_from_ns)})`}   until: ${p.emit_until_ns === null ? 'end of log' : `${p.emit_until_ns} ns (${isoNs(p.emit_until_ns)})`}`,
          `  warm-up: ${p.warmup}`,
          ...p.groups.flatMap((g) => [
            `  partition group ${g.group}:`,
            ...g.topics.map((t) => `    ${t.topic}  warmup_from=${t.warmup_from}  emit_from=${t.emit_from ?? '-'}  end=${t.end}  records=${t.records}`),
          ]),
          `  note: ${p.note}`,
        ];
        if (!o.dryRun && p.mode === 'to-topic') lines.push(`read ${r.recordsRead} input records, wrote ${r.rowsWritten} signal rows, ${r.deadLetters} dead letters (not re-written)`);
        if (r.parity) lines.push(formatParityReport(r.parity, { expected: o.parityAgainst!, actual: o.toTopic! }));
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (r.parity && !r.parity.identical) process.exitCode = 4;
    });
}
