// Ops replay: recompute signals from the input log for a time range, into a separate topic (or reset a consumer
// group to a time/offset), with a dry-run plan and a parity report against the original signals.
//
// Exactness: engine state depends on history (VWAP, session high/low, baselines, smoothers), so a replay "from T"
// starts the engines at the START of the retained log (or at --warmup-from) with output suppressed, and emits only
// ticks at or after T. Starting cold at T would give different numbers for a while after T.
import type { Config, SignalRow } from '@snap/core';
import { processorInputs } from '@snap/core';
import {
  CodecError,
  EnvelopeCodec,
  SIGNALS_TOPIC,
  CHANGELOG_TOPIC,
  createKafka,
  createIdempotentProducer,
  createTransactionalProducer,
  partitionForKey,
  recordToSignalRow,
  signalRowToRecord,
  systemClock,
  topicDeclarations,
  topicName,
  transactionalIdPrefix,
  processorGroupId,
  waitForTopics,
  type Logger,
  type SignalRecord,
  registryOptions,
} from '@snap/platform';
import type { Admin, Kafka, Message } from 'kafkajs';
import { decodeInputValue, partitionOffsets, readRanges, type PartitionRange } from './kafka-io';
import { changelogKey } from './snapshot';
import { PartitionGroupTask, type OutputRow, type StreamSpec } from './task';
import { compareRows, readSignalRowsJsonl, type ParityReport } from './parity';

export class ReplayError extends Error {
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
    this.name = 'ReplayError';
  }
}

export type ReplayFrom = { kind: 'time'; tsNs: bigint } | { kind: 'offsets'; offsets: { topic: string | null; partition: number; offset: bigint }[] };

export interface ReplayOptions {
  cfg: Config;
  from: ReplayFrom;
  /** Last tick time (inclusive) to emit; default: everything in the log. */
  untilNs?: bigint;
  /** Warm-up start: 'earliest' (default, exact) or an event time (faster, approximate until windows refill). */
  warmupFrom?: 'earliest' | bigint;
  /** Partition groups to replay (default: all). */
  groups?: number[];
  target: { kind: 'topic'; topic: string } | { kind: 'group'; groupId: string };
  dryRun?: boolean;
  /** A topic (read_committed) or a .jsonl file with the signals to compare with. */
  parityAgainst?: string;
  logger: Logger;
  progress?: (msg: string) => void;
}

export interface GroupPlan {
  group: number;
  /** Per input topic: warm-up start, first offset at/after the emit start (offsets-for-times), end. */
  topics: { topic: string; warmup_from: string; emit_from: string | null; end: string; records: string }[];
}

export interface ReplayPlan {
  mode: 'to-topic' | 'reset-group';
  target: string;
  emit_from_ns: string | null;
  emit_until_ns: string | null;
  warmup: string;
  groups: GroupPlan[];
  note: string;
}

export interface ReplayResult {
  plan: ReplayPlan;
  rowsWritten: number;
  recordsRead: number;
  deadLetters: number;
  parity?: ParityReport;
}

const msOf = (ns: bigint) => Number(ns / 1_000_000n);

/** `P:O[,P:O]` or `topic:P:O`; a bare P:O addresses the first input topic (the primary stream). */
export function parseOffsetSpec(text: string): { topic: string | null; partition: number; offset: bigint }[] {
  return text.split(',').map((part) => {
    const m = /^(?:(.+):)?(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new ReplayError(`--from-offset: expected P:O or topic:P:O, got ${JSON.stringify(part)}`, '--from-offset');
    return { topic: m[1] ?? null, partition: Number(m[2]), offset: BigInt(m[3]!) };
  });
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The UTC offset (ms) of an IANA zone at a UTC instant. */
function zoneOffsetMs(zone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(utcMs));
  const f = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return Date.UTC(f('year'), f('month') - 1, f('day'), f('hour'), f('minute'), f('second')) - Math.floor(utcMs / 1000) * 1000;
}

/** Checks an IANA zone name (for --tz); returns it. */
export function checkTimeZone(zone: string, option = '--tz'): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new ReplayError(`${option}: unknown time zone ${JSON.stringify(zone)} (an IANA name like America/New_York, or UTC)`, option);
  }
  return zone;
}

/**
 * An event time: Unix ns, or ISO 8601 with an explicit zone (`Z` or `±HH:MM`), to the nanosecond. A time without a
 * zone is refused unless `tz` (an IANA zone, `--tz`) says where it is: read in the machine's zone, a New York session
 * time on a UTC host lands hours off and the replay silently covers the wrong range. Date-only strings are refused too
 * (JavaScript reads them as UTC midnight, other tools as local midnight).
 */
export function parseTimeSpec(text: string, option: string, tz?: string): bigint {
  const t = text.trim();
  if (/^\d{16,19}$/.test(t)) return BigInt(t);
  const m = ISO_TIME.exec(t);
  if (!m) throw new ReplayError(`${option}: expected an ISO time with a zone (2025-12-22T15:00:00Z, 2025-12-22T10:00:00-05:00) or Unix ns, got ${JSON.stringify(text)}`, option);
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const wallMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec ?? 0));
  const check = new Date(wallMs);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(sec ?? 0) > 59) {
    throw new ReplayError(`${option}: ${JSON.stringify(text)} is not a valid date and time`, option);
  }
  let utcMs: number;
  if (zone) {
    if (zone.toUpperCase() === 'Z') utcMs = wallMs;
    else {
      const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
      const off = (Number(z[2]) * 60 + Number(z[3] ?? 0)) * 60_000 * (z[1] === '-' ? -1 : 1);
      if (Math.abs(off) > 18 * 3_600_000) throw new ReplayError(`${option}: zone offset ${zone} is out of range`, option);
      utcMs = wallMs - off;
    }
  } else if (tz) {
    checkTimeZone(tz);
    // The offset at the guessed instant, then once more at the corrected one (right across DST changes, except for
    // wall times a spring-forward skips, which land an hour later, and fall-back repeats, which take the first).
    let guess = wallMs - zoneOffsetMs(tz, wallMs);
    guess = wallMs - zoneOffsetMs(tz, guess);
    utcMs = guess;
  } else {
    throw new ReplayError(`${option}: ${JSON.stringify(text)} has no zone; add Z or an offset (2025-12-22T15:00:00Z, …-05:00) or give --tz America/New_York`, option);
  }
  const fracNs = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  return BigInt(utcMs) * 1_000_000n + fracNs;
}

export class Replayer {
  private readonly cfg: Config;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly codec: EnvelopeCodec;
  private readonly inputs: StreamSpec[];
  private readonly log: Logger;

  constructor(private readonly opts: ReplayOptions) {
    this.cfg = opts.cfg;
    this.log = opts.logger;
    this.kafka = createKafka(opts.cfg, { logger: opts.logger, clientId: `${opts.cfg.kafka.client_id}-replay` });
    this.admin = this.kafka.admin();
    this.codec = new EnvelopeCodec(registryOptions(opts.cfg));
    this.inputs = processorInputs(opts.cfg).map((s) => ({ topic: topicName(opts.cfg, s), schema: s }));
  }

  async run(): Promise<ReplayResult> {
    await this.admin.connect();
    try {
      return await this.runConnected();
    } finally {
      await this.admin.disconnect().catch(() => undefined);
    }
  }

  /** The event time emission starts at: --from-time, or the ts_event_ns of the record a --from-offset names. */
  private async emitFromNs(): Promise<bigint> {
    const from = this.opts.from;
    if (from.kind === 'time') return from.tsNs;
    let min: bigint | null = null;
    for (const o of from.offsets) {
      const topic = o.topic ? (this.inputs.find((s) => s.topic === o.topic || s.schema === o.topic)?.topic ?? null) : this.inputs[0]!.topic;
      if (!topic) throw new ReplayError(`--from-offset: ${o.topic} is not an input topic (${this.inputs.map((s) => s.topic).join(', ')})`, '--from-offset');
      let ts: bigint | null = null;
      await readRanges(this.kafka, this.admin, [{ topic, partition: o.partition, from: o.offset, until: o.offset + 1n }], {
        onMessage: async (_t, _p, m) => {
          if (m.value) ts = (await this.codec.decodeEvent(m.value)).ts_event_ns;
        },
      });
      if (ts === null) throw new ReplayError(`--from-offset: no readable record at ${topic}[${o.partition}]@${o.offset}`, '--from-offset');
      if (min === null || ts < min) min = ts;
    }
    return min!;
  }

  private async plan(emitFrom: bigint | null): Promise<{ plan: ReplayPlan; ranges: PartitionRange[]; groups: number[] }> {
    const ends = new Map<string, Map<number, { low: bigint; high: bigint }>>();
    for (const s of this.inputs) ends.set(s.topic, await partitionOffsets(this.admin, s.topic));
    const nParts = ends.get(this.inputs[0]!.topic)!.size;
    const groups = (this.opts.groups ?? [...Array(nParts).keys()]).filter((p) => p < nParts);
    const warm = this.opts.warmupFrom ?? 'earliest';
    // Positions by EVENT time (ts_event_ns), never offsets-for-times: topics carry LogAppendTime record timestamps, so
    // those would name where a record arrived, not when it happened. The scan reads the partitions once; a real
    // to-topic replay reads them anyway and fills emit_from as it goes (runConnected), so only a dry run, a group
    // reset (resetGroup) or a --warmup-from time pays for it here.
    const times: bigint[] = [];
    if (warm !== 'earliest') times.push(warm);
    const scanEmit = emitFrom !== null && (this.opts.dryRun || this.opts.target.kind === 'group');
    if (scanEmit) times.push(emitFrom!);
    const scanned = times.length
      ? await this.eventTimePositions(
          this.inputs.flatMap((s) => groups.map((g) => ({ topic: s.topic, partition: g, ...ends.get(s.topic)!.get(g)! }))),
          times,
        )
      : null;
    const ranges: PartitionRange[] = [];
    const gp: GroupPlan[] = groups.map((group) => ({ group, topics: [] }));
    for (const s of this.inputs) {
      const e = ends.get(s.topic)!;
      for (const g of gp) {
        const pe = e.get(g.group)!;
        const found = scanned?.get(`${s.topic}:${g.group}`);
        const start = warm === 'earliest' ? pe.low : found![0]!;
        ranges.push({ topic: s.topic, partition: g.group, from: start, until: pe.high });
        const ef = scanEmit ? found![times.length - 1]! : null;
        g.topics.push({
          topic: s.topic,
          warmup_from: start.toString(),
          emit_from: ef === null ? null : ef.toString(),
          end: pe.high.toString(),
          records: (pe.high - start).toString(),
        });
      }
    }
    const t = this.opts.target;
    const plan: ReplayPlan = {
      mode: t.kind === 'topic' ? 'to-topic' : 'reset-group',
      target: t.kind === 'topic' ? t.topic : t.groupId,
      emit_from_ns: emitFrom?.toString() ?? null,
      emit_until_ns: this.opts.untilNs?.toString() ?? null,
      warmup: warm === 'earliest' ? 'earliest (start of the retained log: exact)' : `from ${warm} (approximate until windows and baselines refill)`,
      groups: gp,
      note:
        t.kind === 'topic'
          ? 'engines warm up over [warmup_from, emit start) with output suppressed; ticks at/after the emit start are written. emit_from = the first offset whose ts_event_ns ≥ the emit start (event time, not append time).'
          : 'the group\'s committed offsets on the input topics are set to emit_from (the first record with ts_event_ns ≥ the start) or the given offsets; for the processor group its changelog snapshots are deleted, so it restarts COLD there (not warm, not byte-identical to the original).',
    };
    return { plan, ranges, groups };
  }

  private async runConnected(): Promise<ReplayResult> {
    const emitFrom = await this.emitFromNs();
    const { plan, ranges, groups } = await this.plan(emitFrom);
    if (this.opts.dryRun) return { plan, rowsWritten: 0, recordsRead: 0, deadLetters: 0 };
    if (this.opts.target.kind === 'group') {
      await this.resetGroup(this.opts.target.groupId, plan);
      return { plan, rowsWritten: 0, recordsRead: 0, deadLetters: 0 };
    }
    const target = this.opts.target.topic;
    await this.ensureTopic(target);
    await this.codec.register(target, 'levels.signals.v1');

    // One task per group; all input ranges are read by one bounded consumer.
    const tasks = new Map<number, PartitionGroupTask>();
    for (const g of groups) {
      const start = new Map(ranges.filter((r) => r.partition === g).map((r) => [r.topic, r.from]));
      tasks.set(g, new PartitionGroupTask({ cfg: this.cfg, group: g, streams: this.inputs, startOffsets: start, emitFromNs: emitFrom, emitUntilNs: this.opts.untilNs, nowNs: () => systemClock.nowNs() }));
    }
    const out = new Map<number, OutputRow[]>(groups.map((g) => [g, []]));
    const emitAt = new Map<string, bigint>();
    let deadLetters = 0;
    let lastProgress = 0;
    const total = ranges.reduce((a, r) => a + Number((r.until ?? r.from) - r.from), 0);
    const read = await readRanges(this.kafka, this.admin, ranges, {
      onMessage: async (topic, partition, m) => {
        const task = tasks.get(partition)!;
        const decoded = await decodeInputValue(this.codec, m.value);
        const ek = `${topic}:${partition}`;
        if (!(decoded instanceof CodecError) && decoded.ts_event_ns >= emitFrom && !emitAt.has(ek)) emitAt.set(ek, BigInt(m.offset));
        task.ingest(topic, BigInt(m.offset), m.key?.toString('utf8') ?? null, m.value, decoded);
        task.pump();
        const o = task.takeOutputs();
        out.get(partition)!.push(...o.rows);
        deadLetters += o.deadLetters.length;
      },
      onProgress: (n) => {
        if (n - lastProgress >= 20_000) {
          lastProgress = n;
          this.opts.progress?.(`replay: read ${n}/${total} input records`);
        }
      },
    });
    // The plan's event-time emit positions, found on the way (the end of the partition when no record reached the start).
    for (const g of plan.groups) for (const t of g.topics) t.emit_from = (emitAt.get(`${t.topic}:${g.group}`) ?? BigInt(t.end)).toString();
    for (const [g, task] of tasks) {
      task.drain();
      const o = task.takeOutputs();
      out.get(g)!.push(...o.rows);
      deadLetters += o.deadLetters.length;
    }
    this.opts.progress?.(`replay: read ${read}/${total} input records; writing signals to ${target}`);

    let rowsWritten = 0;
    for (const g of groups) {
      const rows = out.get(g)!;
      if (!rows.length) continue;
      // A transaction per group: a failed replay leaves nothing visible to read_committed consumers; rerunning it
      // writes the same records again (the target topic is the operator's scratch space, not the live signals).
      const producer = createTransactionalProducer(this.kafka, `${transactionalIdPrefix(this.cfg)}-replay-${target}-p${g}`);
      await producer.connect();
      try {
        const tx = await producer.transaction();
        try {
          const msgs: Message[] = rows.map(({ row, source }) => ({
            key: row.underlying,
            value: this.codec.encodeSync(target, 'levels.signals.v1', signalRowToRecord(row, { source, ts_recv_ns: row.ts_event_ns })),
            timestamp: String(msOf(row.ts_event_ns)),
          }));
          for (let i = 0; i < msgs.length; i += 500) await tx.send({ topic: target, messages: msgs.slice(i, i + 500) });
          await tx.commit();
        } catch (e) {
          if (tx.isActive()) await tx.abort().catch(() => undefined);
          throw e;
        }
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
      rowsWritten += rows.length;
    }
    const result: ReplayResult = { plan, rowsWritten, recordsRead: read, deadLetters };
    if (this.opts.parityAgainst) {
      const actual = groups.flatMap((g) => out.get(g)!.map((r) => r.row));
      // The reference restricted to what this replay covers: its time range and the underlyings of its groups.
      const nParts = (await partitionOffsets(this.admin, this.inputs[0]!.topic)).size;
      const expected = (await this.referenceRows(this.opts.parityAgainst)).filter(
        (r) => r.ts_event_ns >= emitFrom && (this.opts.untilNs === undefined || r.ts_event_ns <= this.opts.untilNs) && groups.includes(partitionForKey(r.underlying, nParts)),
      );
      result.parity = compareRows(expected, actual);
    }
    return result;
  }

  /** Rows of the original run: a .jsonl file, or a signals topic read read_committed. */
  private async referenceRows(source: string): Promise<SignalRow[]> {
    if (/\.jsonl$/i.test(source)) return readSignalRowsJsonl(source);
    const topic = source;
    const ends = await partitionOffsets(this.admin, topic).catch((e: Error) => {
      throw new ReplayError(`--parity-against: cannot read topic ${topic}: ${e.message}`, '--parity-against');
    });
    const rows: SignalRow[] = [];
    await readRanges(
      this.kafka,
      this.admin,
      [...ends.keys()].map((partition) => ({ topic, partition, from: 0n })),
      {
        onMessage: async (_t, _p, m) => {
          if (!m.value) return;
          const d = await this.codec.decode(m.value);
          if (d.schemaName === 'levels.signals.v1') rows.push(recordToSignalRow(d.value as SignalRecord));
        },
      },
    );
    return rows;
  }

  private async ensureTopic(topic: string): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    if (existing.has(topic)) return;
    const decl = topicDeclarations(this.cfg).find((d) => d.base === SIGNALS_TOPIC)!;
    // kafkajs's waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a KRaft broker answers until the new topic
    // reaches its metadata cache; waitForTopics (platform) retries that.
    await this.admin.createTopics({
      topics: [{ topic, numPartitions: decl.partitions, replicationFactor: decl.replicationFactor, configEntries: Object.entries(decl.configs).map(([name, value]) => ({ name, value })) }],
      waitForLeaders: false,
    });
    const late = await waitForTopics(this.admin, [{ topic, partitions: decl.partitions }], 30_000);
    if (late.length) throw new ReplayError(`replay target topic ${topic} was created but has no partition leaders after 30 s`, '--to-topic');
    this.log.info('created replay target topic', { topic, partitions: decl.partitions });
  }

  /** Scans a partition for the first record whose ts_event_ns ≥ tsNs (undecodable records are skipped); the end if none. */
  private async firstOffsetAtOrAfter(topic: string, partition: number, tsNs: bigint): Promise<bigint> {
    const ends = (await partitionOffsets(this.admin, topic)).get(partition)!;
    let found: bigint | null = null;
    await readRanges(this.kafka, this.admin, [{ topic, partition, from: ends.low, until: ends.high }], {
      onMessage: async (_t, _p, m) => {
        if (found !== null || !m.value) return;
        try {
          if ((await this.codec.decodeEvent(m.value)).ts_event_ns >= tsNs) found = BigInt(m.offset);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      },
    });
    return found ?? ends.high;
  }

  /**
   * For each partition, the first offset whose ts_event_ns ≥ each of `times` (the partition's end when none is);
   * undecodable records are skipped. One read of every partition, however many times are asked.
   */
  private async eventTimePositions(parts: { topic: string; partition: number; low: bigint; high: bigint }[], times: readonly bigint[]): Promise<Map<string, bigint[]>> {
    const found = new Map<string, (bigint | null)[]>(parts.map((p) => [`${p.topic}:${p.partition}`, times.map(() => null)]));
    await readRanges(
      this.kafka,
      this.admin,
      parts.map((p) => ({ topic: p.topic, partition: p.partition, from: p.low, until: p.high })),
      {
        onMessage: async (topic, partition, m) => {
          const f = found.get(`${topic}:${partition}`)!;
          if (!m.value || f.every((x) => x !== null)) return;
          let ts: bigint;
          try {
            ts = (await this.codec.decodeEvent(m.value)).ts_event_ns;
          } catch (e) {
            if (e instanceof CodecError) return;
            throw e;
          }
          times.forEach((t, i) => {
            if (f[i] === null && ts >= t) f[i] = BigInt(m.offset);
          });
        },
      },
    );
    return new Map(parts.map((p) => [`${p.topic}:${p.partition}`, found.get(`${p.topic}:${p.partition}`)!.map((x) => x ?? p.high)]));
  }

  /** Sets the group's committed input offsets (the group must have no live members) to the plan's emit start. */
  private async resetGroup(groupId: string, plan: ReplayPlan): Promise<void> {
    const explicit = this.opts.from.kind === 'offsets' ? this.opts.from.offsets : null;
    const emitFrom = BigInt(plan.emit_from_ns!);
    for (const s of this.inputs) {
      const partitions: { partition: number; offset: string }[] = [];
      for (const g of plan.groups) {
        const ex = explicit?.find((o) => o.partition === g.group && (o.topic === null ? s.topic === this.inputs[0]!.topic : o.topic === s.topic || o.topic === s.schema));
        // Exact by event time (record timestamps are append times): the first record with ts_event_ns ≥ the start,
        // found by plan()'s scan.
        const planned = g.topics.find((x) => x.topic === s.topic)!.emit_from;
        const offset = ex?.offset ?? (planned !== null ? BigInt(planned) : await this.firstOffsetAtOrAfter(s.topic, g.group, emitFrom));
        partitions.push({ partition: g.group, offset: offset.toString() });
        g.topics.find((x) => x.topic === s.topic)!.emit_from = offset.toString();
      }
      try {
        await this.admin.setOffsets({ groupId, topic: s.topic, partitions });
      } catch (e) {
        throw new ReplayError(`--group ${groupId}: cannot reset offsets on ${s.topic} (stop every member of the group first): ${(e as Error).message}`, '--group');
      }
    }
    if (groupId === this.cfg.kafka.group_id || groupId === processorGroupId(this.cfg)) {
      // The processor restores state from its changelog; that state belongs to the old offsets. Tombstones make it
      // start from scratch at the new offsets.
      const changelog = topicName(this.cfg, CHANGELOG_TOPIC);
      const nCl = (await partitionOffsets(this.admin, changelog)).size;
      const producer = createIdempotentProducer(this.kafka);
      await producer.connect();
      try {
        await producer.send({ topic: changelog, messages: plan.groups.map((g) => ({ key: changelogKey(g.group), value: null, partition: g.group % nCl })) });
      } finally {
        await producer.disconnect();
      }
    }
    this.log.info('consumer group offsets reset', { group_id: groupId, groups: plan.groups.map((g) => g.group) });
  }
}

