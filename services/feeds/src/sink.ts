// The sink every feed writes into. One ordered pipeline (event_id fill, heartbeats, late-record policy, dead
// letters, counters) in front of two outputs: Kafka (producer.ts) and a JSONL file in the `run --input` format —
// so Kafka and embedded runs see the same events in the same order.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { DATA_INPUT_SCHEMAS, checkPlausible, fnv1a64, formatEventLine, makeEventId, readEventLine, type Heartbeat, type InputEvent, type InputSchema, type Source } from '@snap/core';
import { createLogger, type Clock, type DeadLetterRecord, type Logger } from '@snap/platform';
import { HeartbeatScheduler, PartitionOrderGuard, makeHeartbeat, type LatePolicy } from './ordering';

export interface DeadLetterInput {
  reason: string;
  /** Exactly the bytes that could not be used (vendor frame, DBN bytes, or the normalized event as a JSONL line). */
  raw: Buffer;
  /** The component that gave up on it, e.g. `feeds.massive_ws`, `feeds.dbn`. */
  source: string;
  key?: string;
  ts_event_ns?: bigint;
  ts_recv_ns?: bigint;
  seq?: bigint | null;
  event_id?: string;
  error_class?: string;
  /** Offending field path or byte offset, when known. */
  error_path?: string | null;
  source_topic?: string | null;
  source_partition?: number | null;
  source_offset?: bigint | null;
}

/** What every feed (sim, DBN, Massive) emits into. */
export interface FeedSink {
  emit(ev: InputEvent): Promise<void>;
  deadLetter(d: DeadLetterInput): Promise<void>;
}

/** A fully resolved dead letter: deadletter.v1 without schema_name/version (each output adds its own framing). */
export type DeadLetter = Omit<DeadLetterRecord, 'schema_name' | 'schema_version'>;

export interface FeedSinkMetrics {
  /** Market-data records written (heartbeats and dead letters not included). */
  produced: number;
  /** Heartbeat records written (one per stream it was fanned into). */
  heartbeats: number;
  /** Records older than their partition's last ts (clamped or dead-lettered, per policy). */
  late: number;
  clamped: number;
  /** Records refused by checkPlausible (dead-lettered with its reason). */
  implausible: number;
  dead_lettered: number;
  /** Dead letters by error class. */
  dead_lettered_by_class: Record<string, number>;
  produced_by_schema: Record<string, number>;
}

/** Raised by an output when one record cannot be serialized: that record is dead-lettered and the feed goes on. */
export class RecordEncodeError extends Error {
  constructor(
    message: string,
    readonly errorClass: string,
    readonly path: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordEncodeError';
  }
}

export interface OrderedSinkOptions {
  latePolicy: LatePolicy;
  /** Heartbeat cadence in event time (ms); 0 disables heartbeats. */
  heartbeatMs: number;
  /** Streams a heartbeat is fanned into (default: every market-data input stream). */
  heartbeatStreams?: readonly InputSchema[];
  clock: Clock;
  logger?: Logger;
  /** Key used for a dead letter that names none (e.g. a vendor frame that failed before its symbol was read). */
  defaultKey?: string;
}

/** JSON.stringify replacer: 64-bit integers as decimal strings (JSON numbers would round them). */
const bigintAsString = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** The normalized event as a JSONL line: what a dead letter of a normalized event carries as raw bytes. */
export function eventRawBytes(ev: InputEvent): Buffer {
  try {
    return Buffer.from(formatEventLine(ev));
  } catch {
    return Buffer.from(JSON.stringify(ev, bigintAsString));
  }
}

/** A normalized event the sink refuses: its envelope identifies the dead letter, its JSONL line is the raw bytes. */
function eventDeadLetter(ev: InputEvent, reason: string, errorClass: string, errorPath: string | null): DeadLetterInput {
  return {
    reason,
    raw: eventRawBytes(ev),
    source: `feeds.${ev.source}`,
    key: ev.key,
    ts_event_ns: ev.ts_event_ns,
    ts_recv_ns: ev.ts_recv_ns,
    seq: ev.seq,
    event_id: ev.event_id,
    error_class: errorClass,
    error_path: errorPath,
  };
}

/** §2.5: keep a vendor/feed event_id; fill one from the identifying fields when missing. */
export function withEventId(ev: InputEvent): InputEvent {
  if (ev.event_id) return ev;
  const e = ev as unknown as Record<string, unknown>;
  const symbol = (e.option_symbol ?? e.symbol ?? ev.key) as string;
  const price = typeof e.price === 'number' ? e.price : typeof e.bid_px === 'number' ? e.bid_px : null;
  const size = typeof e.size === 'number' ? e.size : null;
  const exchange = (e.exchange ?? e.venue ?? null) as number | string | null;
  return { ...ev, event_id: makeEventId({ source: ev.source, ts_event_ns: ev.ts_event_ns, symbol: `${ev.schema}:${symbol}`, price, size, exchange, seq: ev.seq }) };
}

/**
 * Ordering pipeline shared by every output. Calls are serialized (a live feed's socket handlers and its heartbeat
 * timer may call concurrently), so the order records are written is the order `emit` was called.
 */
export abstract class OrderedFeedSink implements FeedSink {
  readonly metrics: FeedSinkMetrics = { produced: 0, heartbeats: 0, late: 0, clamped: 0, implausible: 0, dead_lettered: 0, dead_lettered_by_class: {}, produced_by_schema: {} };
  readonly guard: PartitionOrderGuard;
  readonly heartbeats: HeartbeatScheduler | null;
  /** Replays: heartbeats follow event time. Live feeds switch this off (see startLiveHeartbeats). */
  private eventTimeHeartbeats = true;
  /** Wall-clock heartbeat ticks skipped because the sink was busy. */
  liveHeartbeatsSkipped = 0;
  protected readonly log: Logger;
  protected readonly clock: Clock;
  private readonly hbStreams: readonly InputSchema[];
  private chain: Promise<unknown> = Promise.resolve();
  private liveTimer: NodeJS.Timeout | null = null;
  private readonly defaultKey: string;
  private closed = false;
  /** Sink calls queued or running. */
  private pending = 0;
  /** A resumed live feed: last ts per (stream|key) the previous run had produced (see setResumeFloor). */
  private resumeFloor: Map<string, bigint> | null = null;
  /** Records dropped because the previous run had already produced their stream past them (resume). */
  resumeSkipped = 0;

  constructor(protected readonly opts: OrderedSinkOptions) {
    this.guard = new PartitionOrderGuard(opts.latePolicy);
    this.heartbeats = opts.heartbeatMs > 0 ? new HeartbeatScheduler(opts.heartbeatMs) : null;
    this.hbStreams = opts.heartbeatStreams ?? DATA_INPUT_SCHEMAS;
    this.clock = opts.clock;
    this.log = opts.logger ?? createLogger({ name: 'feeds.sink' });
    this.defaultKey = opts.defaultKey ?? 'unknown';
  }

  /** Writes one normalized data event (already ordered and stamped). Throws RecordEncodeError for a bad record. */
  protected abstract writeEvent(ev: InputEvent): Promise<void>;
  /** Writes one heartbeat into each of `streams` (the streams not already past its ts). */
  protected abstract writeHeartbeat(hb: Heartbeat, streams: readonly InputSchema[]): Promise<void>;
  protected abstract writeDeadLetter(d: DeadLetter): Promise<void>;
  /** Until this resolves, written records may be buffered; after, they are durable in the output. */
  protected abstract flushOutput(): Promise<void>;
  protected abstract closeOutput(): Promise<void>;

  emit(ev: InputEvent): Promise<void> {
    return this.serial(() => this.emitNow(ev));
  }

  deadLetter(d: DeadLetterInput): Promise<void> {
    return this.serial(() => this.deadLetterNow(d));
  }

  flush(): Promise<void> {
    return this.serial(() => this.flushOutput());
  }

  /** Flushes and releases the output; idempotent, and the output is released even when the flush fails. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopLiveHeartbeats();
    try {
      await this.serial(() => this.flushOutput());
    } finally {
      await this.closeOutput();
    }
  }

  /**
   * Live feeds: every cadence of wall time, each key's streams advance to floor((now - lagMs) / cadence) even when the
   * market is idle — but only while the sink is idle (see tick). Replays must not use this (their heartbeats are
   * derived from event time only).
   *
   * Live feeds also stop deriving heartbeats from record event time. A live feed merges sources with different
   * latencies (WebSocket prints arrive in milliseconds, a REST greeks snapshot stamped at its request time arrives a
   * round trip later), so a boundary crossed by one source's record says nothing about the others: fanning it into
   * their streams would make their in-flight records late. `lagMs` must cover the slowest source's latency.
   */
  startLiveHeartbeats(keys: readonly string[], lagMs: number, source: Source): void {
    if (!this.heartbeats || this.liveTimer) return;
    this.eventTimeHeartbeats = false;
    const tick = () => {
      // Only an idle sink may claim wall time: while records are queued (a slow broker, the first schema
      // registration), records the vendor already sent wait upstream, and a heartbeat at now - lag would make them
      // late. A busy sink needs no wall-clock heartbeat anyway: its records advance event time themselves.
      if (this.pending > 0) {
        this.liveHeartbeatsSkipped++;
        return;
      }
      for (const key of keys) {
        const now = this.clock.nowNs();
        void this.serial(async () => {
          const b = this.heartbeats!.onWallClock(key, now, lagMs);
          if (b !== null) await this.heartbeatNow(makeHeartbeat(key, b, source, now));
        }).catch((e) => this.log.error('live heartbeat failed', { key, error: e as Error }));
      }
    };
    this.liveTimer = setInterval(tick, this.opts.heartbeatMs);
    this.liveTimer.unref();
  }

  /**
   * A live feed restarted with --resume: `snapshot` is the order guard of the previous run (last ts_event_ns produced
   * per stream and key). A record older than that was produced before the restart (a vendor replaying its recent
   * past on reconnect, a REST snapshot the previous run already polled): dropped, not dead-lettered as late.
   */
  setResumeFloor(snapshot: Record<string, string>): void {
    this.resumeFloor = new Map(Object.entries(snapshot).map(([k, v]) => [k, BigInt(v)]));
  }

  stopLiveHeartbeats(): void {
    if (this.liveTimer) clearInterval(this.liveTimer);
    this.liveTimer = null;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const p = this.chain.then(fn).finally(() => this.pending--);
    // The chain keeps going after a failure; the failure is reported to the caller of that step.
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async emitNow(input: InputEvent): Promise<void> {
    let ev = withEventId(input);
    if (ev.schema === 'heartbeat.v1') {
      // A heartbeat from the feed itself (e.g. the simulator): fan it out like our own, and count it as the last one.
      this.heartbeats?.note(ev.key, ev.ts_event_ns);
      await this.heartbeatNow(ev);
      return;
    }
    // An impossible price or size (negative, zero, absurd: a corrupt DBN record, a vendor glitch) never reaches an
    // engine on any path: dead-lettered with the core's reason before it can move heartbeats or the order guard.
    const implausible = checkPlausible(ev);
    if (implausible !== null) {
      this.metrics.implausible++;
      // The reason starts with the offending field ("size -3 is not positive"): that is the dead letter's path.
      const field = /^([a-z_][a-z_0-9]*(?:\[\d+\])?(?:\.[a-z_][a-z_0-9]*)*)\b/.exec(implausible)?.[1] ?? null;
      await this.deadLetterNow(eventDeadLetter(ev, `implausible ${ev.schema} record: ${implausible}`, 'ImplausibleRecord', field));
      return;
    }
    const floor = this.resumeFloor?.get(`${ev.schema}|${ev.key}`);
    if (floor !== undefined && ev.ts_event_ns < floor) {
      this.resumeSkipped++;
      return;
    }
    const hbTs = this.eventTimeHeartbeats ? (this.heartbeats?.beforeEvent(ev.key, ev.ts_event_ns) ?? null) : null;
    if (hbTs !== null) await this.heartbeatNow(makeHeartbeat(ev.key, hbTs, ev.source, ev.ts_recv_ns));

    const d = this.guard.check(ev.schema, ev.key, ev.ts_event_ns);
    if (d.action !== 'accept') this.metrics.late++;
    if (d.action === 'dead_letter') {
      await this.deadLetterNow(eventDeadLetter(ev, d.reason, 'LateRecord', 'ts_event_ns'));
      return;
    }
    if (d.action === 'clamp') {
      this.metrics.clamped++;
      this.log.warn('late record clamped to its partition time', { schema: ev.schema, key: ev.key, event_id: ev.event_id, original_ts_event_ns: d.original_ts_ns, clamped_ts_event_ns: d.clamped_ts_ns });
      ev = { ...ev, ts_event_ns: d.clamped_ts_ns };
    }
    try {
      await this.writeEvent(ev);
    } catch (e) {
      if (!(e instanceof RecordEncodeError)) throw e;
      await this.deadLetterNow(eventDeadLetter(ev, `cannot encode ${ev.schema} record: ${e.message}`, e.errorClass, e.path));
      return;
    }
    this.guard.commit(ev.schema, ev.key, ev.ts_event_ns);
    this.metrics.produced++;
    this.metrics.produced_by_schema[ev.schema] = (this.metrics.produced_by_schema[ev.schema] ?? 0) + 1;
  }

  private async heartbeatNow(hb: Heartbeat): Promise<void> {
    const streams = this.hbStreams.filter((s) => {
      const last = this.guard.lastTs(s, hb.key);
      return last === undefined || last <= hb.ts_event_ns;
    });
    if (streams.length === 0) return;
    await this.writeHeartbeat(hb, streams);
    for (const s of streams) this.guard.commit(s, hb.key, hb.ts_event_ns);
    this.metrics.heartbeats += this.heartbeatRecordCount(streams);
  }

  /** How many physical records one heartbeat becomes (Kafka: one per topic; a file: one line). */
  protected heartbeatRecordCount(streams: readonly InputSchema[]): number {
    return streams.length;
  }

  private async deadLetterNow(d: DeadLetterInput): Promise<void> {
    const now = this.clock.nowNs();
    const ts = d.ts_event_ns ?? now;
    const errorClass = d.error_class ?? 'FeedError';
    const dl: DeadLetter = {
      source: d.source,
      ts_event_ns: ts,
      ts_recv_ns: d.ts_recv_ns ?? now,
      key: d.key ?? this.defaultKey,
      seq: d.seq ?? null,
      event_id: d.event_id ?? `dl:${fnv1a64(`${d.source}|${d.reason}|${d.raw.toString('base64')}`)}`,
      reason: d.reason,
      error_class: errorClass,
      error_path: d.error_path ?? null,
      source_topic: d.source_topic ?? null,
      source_partition: d.source_partition ?? null,
      source_offset: d.source_offset ?? null,
      raw: d.raw,
      ts_deadletter_ns: now,
    };
    await this.writeDeadLetter(dl);
    this.metrics.dead_lettered++;
    this.metrics.dead_lettered_by_class[errorClass] = (this.metrics.dead_lettered_by_class[errorClass] ?? 0) + 1;
    // Never log the raw bytes: a vendor frame may carry credentials echoed back (auth frames).
    this.log.warn('record dead-lettered', { source: dl.source, key: dl.key, reason: dl.reason, error_class: dl.error_class, error_path: dl.error_path, raw_bytes: dl.raw.length });
  }
}

export interface JsonlSinkOptions extends OrderedSinkOptions {
  path: string;
  /** Dead letters go beside the output: `<path>.deadletter.jsonl` unless given. */
  deadLetterPath?: string;
  /** Append to existing files instead of truncating them (a resumed replay continues its output). */
  append?: boolean;
}

/** JsonlFeedSink hands its held lines to the file stream once this many characters are held, or after HOLD_MS. */
const OUT_CHUNK = 1 << 16;
const HOLD_MS = 100;

/**
 * Writes the `run --input` JSONL format. Each line is validated by parsing it back with the same parser `run --input`
 * uses, so a record the embedded run would refuse is dead-lettered here, as the Kafka path would.
 */
export class JsonlFeedSink extends OrderedFeedSink {
  private readonly out: WriteStream;
  private dlOut: WriteStream | null = null;
  private lineNo = 0;
  readonly deadLetterPath: string;

  constructor(readonly jopts: JsonlSinkOptions) {
    super(jopts);
    this.out = createWriteStream(jopts.path, { encoding: 'utf8', flags: jopts.append ? 'a' : 'w' });
    this.deadLetterPath = jopts.deadLetterPath ?? `${jopts.path}.deadletter.jsonl`;
  }

  /**
   * Event lines not yet handed to the stream, written in pieces of OUT_CHUNK characters: a stream write per line (its
   * chunk object, its callback, its bookkeeping) cost more than the line. flush() and close() write the rest first;
   * `feed sim --resume` flushes before it saves a position, so a resume point never names a line still held here. A
   * live feed's lines are never held longer than HOLD_MS (a reader following the file sees them).
   */
  private held = '';
  private holdTimer: NodeJS.Timeout | null = null;

  protected async writeEvent(ev: InputEvent): Promise<void> {
    await this.holdLine(this.checkedLine(ev));
  }

  protected async writeHeartbeat(hb: Heartbeat): Promise<void> {
    await this.holdLine(this.checkedLine(hb));
  }

  private async holdLine(line: string): Promise<void> {
    if (this.held.length === 0 && this.holdTimer === null) {
      // Handed over synchronously, not through the sink's queue (a queued step would make the sink look busy to the
      // live heartbeats); lines held later follow it in the stream, and the next write waits for a drain if needed.
      this.holdTimer = setTimeout(() => {
        this.holdTimer = null;
        if (this.held.length > 0) this.out.write(this.held);
        this.held = '';
      }, HOLD_MS);
      this.holdTimer.unref();
    }
    this.held += line + '\n';
    if (this.held.length >= OUT_CHUNK) await this.writeHeld();
  }

  private async writeHeld(): Promise<void> {
    const text = this.held;
    this.held = '';
    if (text.length > 0 && !this.out.write(text)) await once(this.out, 'drain');
  }

  protected override heartbeatRecordCount(): number {
    return 1;
  }

  protected async writeDeadLetter(d: DeadLetter): Promise<void> {
    this.dlOut ??= createWriteStream(this.deadLetterPath, { encoding: 'utf8', flags: this.jopts.append ? 'a' : 'w' });
    const { raw, ...rest } = d;
    const line = JSON.stringify({ schema_name: 'deadletter.v1', schema_version: 1, ...rest, raw_base64: raw.toString('base64') }, bigintAsString);
    await this.writeLine(this.dlOut, line);
  }

  protected async flushOutput(): Promise<void> {
    await this.writeHeld();
    // fs write streams hand data to the OS as they go; wait for the queue to drain.
    for (const s of [this.out, this.dlOut]) if (s && s.writableNeedDrain) await once(s, 'drain');
  }

  protected async closeOutput(): Promise<void> {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    // Written even when the flush before failed (a dead-letter stream error): what was emitted is not dropped.
    if (this.held.length > 0) this.out.write(this.held);
    this.held = '';
    for (const s of [this.out, this.dlOut]) {
      if (!s) continue;
      await new Promise<void>((resolve, reject) => s.end((e?: Error | null) => (e ? reject(e) : resolve())));
    }
  }

  /** The bytes of the line being checked (grown for a longer line). */
  private lineBytes = Buffer.allocUnsafe(4096);

  private checkedLine(ev: InputEvent): string {
    this.lineNo++;
    const line = formatEventLine(ev);
    // Read back from its bytes as `run --input` reads it (readEventLine: the byte decoder, then the string parser for
    // what it leaves, which accepts it or names the field). The string parser alone (zod) was a sixth of
    // `feed sim --out`.
    if (line.length * 3 > this.lineBytes.length) this.lineBytes = Buffer.allocUnsafe(line.length * 3);
    const n = this.lineBytes.write(line, 0, 'utf8');
    try {
      readEventLine(this.lineBytes, 0, n, this.lineNo);
    } catch (e) {
      this.lineNo--;
      const err = e as Error & { field?: string };
      throw new RecordEncodeError(err.message, err.name, err.field ?? null, { cause: e });
    }
    return line;
  }

  private async writeLine(s: WriteStream, line: string): Promise<void> {
    if (!s.write(line + '\n')) await once(s, 'drain');
  }
}
