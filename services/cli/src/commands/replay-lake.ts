// `snap-engine replay --from-lake DIR|s3://bucket/prefix --underlying SPY --from T --to T [--tier bronze|silver]
// (--to-topic X | --out FILE.jsonl) [--parity-against TOPIC|FILE]`: the session read back from Bronze/Silver
// Parquet (found through the lake's _meta/ manifests) and replayed through the processor's task, so it needs no
// Kafka at all with --out (backtests); see docs/lake.md. Exit codes: 0 done (and identical under --parity-against),
// 1 runtime failure, 2 usage/config error, 4 parity report found a difference.
import {
  EXIT,
  EnvelopeCodec,
  Progress,
  SIGNALS_TOPIC,
  UsageError,
  atomicWriteFile,
  createKafka,
  createLogger,
  createTransactionalProducer,
  formatTime,
  printSummary,
  recordToSignalRow,
  signalRowToRecord,
  topicDeclarations,
  transactionalIdPrefix,
  waitForTopics,
  type SignalRecord,
} from '@snap/platform';
import type { Config, SignalRow } from '@snap/core';
import { LakeManifestError, LakeReadError, LakeReplayError, openLake, replayFromLake, type LakeReplayProgress, type LakeReplayTier } from '@snap/lake-sink';
import { canonicalRow, checkTimeZone, compareRows, formatParityReport, parseTimeSpec, partitionOffsets, readRanges, readSignalRowsJsonl, ReplayError, type OutputRow } from '@snap/processor';

export interface LakeReplayCliOptions {
  fromLake: string;
  underlying?: string;
  from?: string;
  to?: string;
  fromTime?: string;
  untilTime?: string;
  tier?: string;
  toTopic?: string;
  out?: string;
  run?: string;
  warmupFrom?: string;
  parityAgainst?: string;
  tz?: string;
  json?: boolean;
}

const usage = (msg: string) => new UsageError(`replay --from-lake: ${msg}`);

/** Signal rows of a topic, read_committed (the original run's, for the parity report). */
async function topicRows(cfg: Config, topic: string): Promise<SignalRow[]> {
  const kafka = createKafka(cfg, { clientId: `${cfg.kafka.client_id}-lake-parity` });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    const ends = await partitionOffsets(admin, topic).catch((e: Error) => {
      throw new ReplayError(`--parity-against: cannot read topic ${topic}: ${e.message}`, '--parity-against');
    });
    const rows: SignalRow[] = [];
    await readRanges(kafka, admin, [...ends.keys()].map((partition) => ({ topic, partition, from: 0n })), {
      readCommitted: true,
      onMessage: async (_t, _p, m) => {
        if (!m.value) return;
        const d = await codec.decode(m.value);
        if (d.schemaName === 'levels.signals.v1') rows.push(recordToSignalRow(d.value as SignalRecord));
      },
    });
    return rows;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Writes the rows into `topic` (created like levels.signals.v1 if missing), one transaction per underlying. */
async function writeTopic(cfg: Config, topic: string, rows: Map<string, OutputRow[]>): Promise<number> {
  const kafka = createKafka(cfg, { clientId: `${cfg.kafka.client_id}-lake-replay` });
  const admin = kafka.admin();
  await admin.connect();
  let written = 0;
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      const decl = topicDeclarations(cfg).find((d) => d.base === SIGNALS_TOPIC)!;
      await admin.createTopics({
        topics: [{ topic, numPartitions: decl.partitions, replicationFactor: decl.replicationFactor, configEntries: Object.entries(decl.configs).map(([name, value]) => ({ name, value })) }],
        waitForLeaders: false,
      });
      if ((await waitForTopics(admin, [{ topic, partitions: decl.partitions }], 30_000)).length) throw new Error(`replay target topic ${topic} has no partition leaders after 30 s`);
    }
    const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    await codec.register(topic, 'levels.signals.v1');
    for (const [u, list] of rows) {
      if (!list.length) continue;
      // One transaction per underlying: a failed replay leaves nothing visible to read_committed consumers.
      const producer = createTransactionalProducer(kafka, `${transactionalIdPrefix(cfg)}-lake-replay-${topic}-${u}`);
      await producer.connect();
      try {
        const tx = await producer.transaction();
        try {
          const msgs = [];
          for (const { row, source } of list) {
            msgs.push({ key: row.underlying, value: codec.encodeSync(topic, 'levels.signals.v1', signalRowToRecord(row, { source, ts_recv_ns: row.ts_event_ns })), timestamp: String(row.ts_event_ns / 1_000_000n) });
          }
          for (let i = 0; i < msgs.length; i += 500) await tx.send({ topic, messages: msgs.slice(i, i + 500) });
          await tx.commit();
        } catch (e) {
          if (tx.isActive()) await tx.abort().catch(() => undefined);
          throw e;
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
      written += list.length;
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return written;
}

export async function runLakeReplay(cfg: Config, o: LakeReplayCliOptions): Promise<void> {
  const logger = createLogger({ name: 'replay', level: cfg.log.level });
  if (!!o.toTopic === !!o.out) throw usage('give exactly one of --to-topic or --out FILE.jsonl');
  if (o.out && !/\.jsonl$/i.test(o.out)) throw usage(`--out ${o.out}: the output is JSON lines, name it *.jsonl`);
  const tier = (o.tier ?? 'bronze') as LakeReplayTier;
  if (tier !== 'bronze' && tier !== 'silver') throw usage(`--tier ${o.tier}: expected bronze or silver`);
  const underlyings = o.underlying ? o.underlying.split(',').map((u) => u.trim()).filter(Boolean) : [...cfg.underlyings];
  const unknown = underlyings.filter((u) => !cfg.underlyings.includes(u));
  if (unknown.length) throw usage(`--underlying ${unknown.join(',')} is not a configured underlying (${cfg.underlyings.join(',')}; set UNDERLYINGS)`);
  let fromNs: bigint | undefined;
  let toNs: bigint | undefined;
  let warmupFrom: 'earliest' | bigint = 'earliest';
  const tz = o.tz;
  try {
    if (tz !== undefined) checkTimeZone(tz);
    const from = o.from ?? o.fromTime;
    const to = o.to ?? o.untilTime;
    fromNs = from === undefined ? undefined : parseTimeSpec(from, '--from', tz);
    toNs = to === undefined ? undefined : parseTimeSpec(to, '--to', tz);
    if (o.warmupFrom && o.warmupFrom !== 'earliest') warmupFrom = parseTimeSpec(o.warmupFrom, '--warmup-from', tz);
  } catch (e) {
    if (e instanceof ReplayError) throw usage(e.message);
    throw e;
  }
  if (fromNs !== undefined && toNs !== undefined && toNs < fromNs) throw usage(`--to (${formatTime(toNs, tz)}) is before --from (${formatTime(fromNs, tz)})`);
  if (warmupFrom !== 'earliest' && fromNs !== undefined && warmupFrom > fromNs) throw usage('--warmup-from is after --from');

  const lake = openLake(o.fromLake, cfg);
  const bars = new Map<string, Progress>();
  const onProgress = (p: LakeReplayProgress) => {
    let bar = bars.get(p.phase);
    if (!bar) {
      bar = new Progress({ label: p.phase === 'read' ? `replay --from-lake: reading ${lake.where}` : `replay --from-lake: ${underlyings.join(',')}`, total: p.total, unit: p.phase === 'read' ? 'objects' : 'records' });
      bars.set(p.phase, bar);
    }
    bar.update(p.done);
    if (p.done >= p.total) bar.finish();
  };
  let r;
  try {
    r = await replayFromLake({ cfg, lake, underlyings, tier, fromNs, toNs, warmupFrom, runId: o.run, logger, onProgress });
  } catch (e) {
    if (e instanceof LakeReplayError && e.subject === '--run') throw usage(e.message);
    if (e instanceof LakeReplayError || e instanceof LakeReadError || e instanceof LakeManifestError) {
      process.stderr.write(`snap-engine replay: ${e.message}\n`);
      process.exitCode = EXIT.FAILED;
      return;
    }
    throw e;
  } finally {
    for (const b of bars.values()) b.finish();
    lake.close();
  }
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);

  let rowsWritten = 0;
  const all = [...r.rows.values()].flat();
  if (o.out) {
    atomicWriteFile(o.out, Buffer.from(all.map((x) => canonicalRow(x.row) + '\n').join('')));
    rowsWritten = all.length;
  } else rowsWritten = await writeTopic(cfg, o.toTopic!, r.rows);

  let parity;
  if (o.parityAgainst) {
    const ref = /\.jsonl$/i.test(o.parityAgainst) ? readSignalRowsJsonl(o.parityAgainst) : await topicRows(cfg, o.parityAgainst);
    const expected = ref.filter((x) => underlyings.includes(x.underlying) && (fromNs === undefined || x.ts_event_ns >= fromNs) && (toNs === undefined || x.ts_event_ns <= toNs));
    parity = compareRows(expected, all.map((x) => x.row));
  }
  const summary = {
    lake: lake.where,
    tier,
    found_by: r.found_by,
    runs: r.runs,
    config_hash: r.config_hash,
    underlyings,
    from: fromNs === undefined ? null : formatTime(fromNs, tz),
    to: toNs === undefined ? null : formatTime(toNs, tz),
    objects: r.objects,
    bytes: r.bytes,
    records: r.records,
    dead_letters: r.dead_letters,
    rows_written: rowsWritten,
    target: o.out ?? o.toTopic,
    parity: parity ?? null,
  };
  if (o.json) process.stdout.write(JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  else {
    const lines = [
      `replay from ${lake.where} (${tier}, files by ${r.found_by}) → ${summary.target}`,
      ...r.runs.map((x) => `  run ${x.run_id} (${x.command}, ${x.manifests} manifest(s)): code ${x.code_version.join(', ')}, config ${x.config_hash.map((h) => h.slice(0, 12)).join(', ')}${x.config_hash.includes(r.config_hash) ? '' : ` (this replay: ${r.config_hash.slice(0, 12)})`}`),
      `  emit: ${summary.from ?? 'start'} .. ${summary.to ?? 'end'}; warm-up from ${warmupFrom === 'earliest' ? 'the first record in the lake' : formatTime(warmupFrom, tz)}`,
      `  read ${r.objects} objects (${r.bytes} bytes), ${r.records} input records, ${r.dead_letters} dead letters; wrote ${rowsWritten} signal rows`,
    ];
    if (parity) lines.push(formatParityReport(parity, { expected: o.parityAgainst!, actual: summary.target! }));
    process.stdout.write(lines.join('\n') + '\n');
    printSummary('replay --from-lake', { objects: r.objects, records: r.records, rows: rowsWritten, dead_letters: r.dead_letters, parity: parity ? (parity.identical ? 'identical' : 'DIFFERENT') : 'n/a' });
  }
  if (parity && !parity.identical) process.exitCode = 4;
}
