// The embedded runtime: no servers. Sources (the simulator, a JSONL file) → in-process bus → DeterministicMerge
// (when there are several streams) → one SnapEngine per underlying → sinks (payload JSONL, Gold Parquet, live
// terminal summary). The merge and the engine are the same classes the Kafka processor uses, so the embedded run
// and a Kafka run over the same events yield the same payloads.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DATA_INPUT_SCHEMAS,
  DeterministicMerge,
  INPUT_SCHEMA_RANK,
  LatenessGuard,
  SignalTally,
  SnapEngine,
  UnknownStreamError,
  checkPlausible,
  PayloadLineWriter,
  latenessRuleOf,
  toSignalRows,
  underlyingConfig,
  type Config,
  type DataInputSchema,
  type InputEvent,
  type LevelPhysicsPayload,
  type SignalCounts,
} from '@snap/core';
import { GoldSignalWriter, type Logger, type ParquetFileWritten } from '@snap/platform';

export interface EmbeddedSink {
  onPayload(p: LevelPhysicsPayload): void;
  /** Called once at the end of input (flush files, print a final line). */
  close(): void | Promise<void>;
}

export interface EmbeddedOptions {
  cfg: Config;
  /** Events in non-decreasing ts_event_ns (a file in order, or the simulator). */
  source: Iterable<InputEvent> | AsyncIterable<InputEvent>;
  sinks: EmbeddedSink[];
  /**
   * Both modes split the source into one stream per data schema (as the Kafka topics are: heartbeats go into every
   * stream, as the feeds fan them out), judge each record by the one lateness rule (core lateness.ts) and the
   * plausibility check, and re-merge the streams with DeterministicMerge — exactly what the processor does.
   * 'by-schema' (the demo, live sources): the source's global order stands in for a heartbeat into every stream after
   * each record, so output streams out as the source advances. 'single' (`run --input`): no such assumption — only the
   * file's own records and heartbeats move each stream, the end of the file drains the merge; on any log this gives
   * what the processor gives on the same records.
   */
  streams?: 'by-schema' | 'single';
  /** Called for every record the lateness rule or the plausibility check refuses (it is not applied). */
  onDeadLetter?: (ev: InputEvent, reason: string, errorClass: 'LateRecord' | 'Implausible') => void;
  log?: Logger;
  /** Called every `progressEvery` events with running counts. */
  onProgress?: (s: EmbeddedStats) => void;
  progressEvery?: number;
}

export interface EmbeddedStats {
  events: number;
  /** Events whose key is not a configured underlying (ignored). */
  skipped: number;
  payloads: number;
  signalRows: number;
  firstNs: bigint | null;
  lastNs: bigint | null;
  /** Records refused: late beyond the tolerance (ordering.late_policy = dead_letter), or implausible. */
  deadLettered: { late: number; implausible: number };
  /** Late records clamped to their stream's event time. */
  clamped: number;
}


/** One input stream of the embedded bus: its schema and rank, the offset its next record takes, its last placement. */
interface Lane {
  readonly schema: DataInputSchema;
  readonly rank: number;
  offset: bigint;
  placed: bigint | null;
}

/** JsonlPayloadSink writes its file once this many bytes are pending. */
const FLUSH_AT = 1 << 20;

/** 'single' mode asks the merge for what is safe every this many events (a power of two). */
const RELEASE_EVERY = 32;

/**
 * Runs the bus to the end of the source. Like the Kafka processor, it emits only the ticks the events close: the end of
 * a file is not a point in event time, so the tick holding the last event stays open (a closing heartbeat closes it).
 */
export async function runEmbedded(opts: EmbeddedOptions): Promise<EmbeddedStats> {
  const { cfg, sinks } = opts;
  const underlyings = new Set(cfg.underlyings);
  const engines = new Map<string, SnapEngine>();
  const stats: EmbeddedStats = { events: 0, skipped: 0, payloads: 0, signalRows: 0, firstNs: null, lastNs: null, deadLettered: { late: 0, implausible: 0 }, clamped: 0 };
  const every = opts.progressEvery ?? 50_000;
  const emit = (ps: LevelPhysicsPayload[]) => {
    for (const p of ps) {
      stats.payloads++;
      stats.signalRows += p.levels.length;
      for (const s of sinks) s.onPayload(p);
    }
  };
  const applyItem = ({ ev }: { ev: InputEvent }) => {
    if (ev.schema === 'heartbeat.v1') {
      if (ev.key === '' || ev.key === '*') {
        for (const eng of engines.values()) emit(eng.push(ev));
        return;
      }
    }
    let eng = engines.get(ev.key);
    if (!eng) {
      eng = new SnapEngine(underlyingConfig(cfg, ev.key), ev.key);
      engines.set(ev.key, eng);
    }
    emit(eng.push(ev));
  };
  const ordered = opts.streams !== 'single';
  // Every item carries its stream's rank (heartbeats too, as a heartbeat record on that stream's topic does).
  const merge = new DeterministicMerge<{ ev: InputEvent; rank: number }>(DATA_INPUT_SCHEMAS, (x) => x.rank);
  const guard = new LatenessGuard(latenessRuleOf(cfg));
  /**
   * Per stream: its next offset and last placement (the merge needs each stream in order; see
   * PartitionGroupTask.ingest). One object per stream found by one lookup: per record, the maps of offsets and
   * placements cost four lookups and stores (bench run-jsonl).
   */
  const lanes = new Map<DataInputSchema, Lane>();
  for (const s of DATA_INPUT_SCHEMAS) lanes.set(s, { schema: s, rank: INPUT_SCHEMA_RANK[s], offset: 0n, placed: null });
  const allLanes = [...lanes.values()];
  let clock: bigint | null = null;
  const pushInto = (lane: Lane, ev: InputEvent, tsNs: bigint) => {
    const off = lane.offset;
    lane.offset = off + 1n;
    const at = lane.placed !== null && lane.placed > tsNs ? lane.placed : tsNs;
    lane.placed = at;
    merge.push(lane.schema, at, off, { ev, rank: lane.rank });
  };
  const deadLetter = (ev: InputEvent, reason: string, cls: 'LateRecord' | 'Implausible') => {
    if (cls === 'LateRecord') stats.deadLettered.late++;
    else stats.deadLettered.implausible++;
    opts.onDeadLetter?.(ev, reason, cls);
  };
  const step = (ev: InputEvent) => {
    stats.events++;
    stats.firstNs ??= ev.ts_event_ns;
    stats.lastNs = ev.ts_event_ns;
    const wildcard = ev.schema === 'heartbeat.v1' && (ev.key === '' || ev.key === '*');
    if (!wildcard && !underlyings.has(ev.key)) {
      stats.skipped++;
    } else if (ev.schema === 'heartbeat.v1') {
      for (const lane of allLanes) {
        guard.check(lane.schema, ev);
        pushInto(lane, ev, ev.ts_event_ns);
      }
    } else {
      const bad = checkPlausible(ev);
      if (bad) deadLetter(ev, `implausible: ${bad}`, 'Implausible');
      else {
        const v = guard.check(ev.schema, ev);
        if (v.kind === 'late') deadLetter(ev, v.reason, 'LateRecord');
        else {
          if (v.kind === 'clamped') stats.clamped++;
          const lane = lanes.get(ev.schema);
          if (lane === undefined) throw new UnknownStreamError(ev.schema);
          pushInto(lane, v.event, v.event.ts_event_ns);
        }
      }
    }
    if (ordered) {
      // One ordered source: nothing earlier can still arrive on any stream (a heartbeat into every stream).
      if (clock === null || ev.ts_event_ns > clock) clock = ev.ts_event_ns;
      for (const s of DATA_INPUT_SCHEMAS) {
        merge.advance(s, clock);
        guard.advance(s, ev.key, clock);
      }
    }
    // 'single': asking the merge every RELEASE_EVERY events releases the same sequence as asking after each one (a
    // stream's watermark only rises, pushInto never places a record below its stream's last one, so nothing released
    // later could have sorted before what was safe earlier), and each ask scans every stream (bench run-jsonl).
    if (ordered || (stats.events & (RELEASE_EVERY - 1)) === 0) for (const e of merge.release()) applyItem(e);
    if (opts.onProgress && stats.events % every === 0) opts.onProgress(stats);
  };
  const src = opts.source;
  if (Symbol.iterator in src && !(Symbol.asyncIterator in src)) {
    // A synchronous source (an array, the simulator, a file read with readSync) is iterated without for-await: its
    // per-event promise and microtask cost as much as the guard and the merge together (bench run-jsonl). The event
    // loop still gets a turn every few thousand events (signals, timers, other sinks' stream writes).
    let n = 0;
    for (const ev of src) {
      step(ev);
      if ((++n & 8191) === 0) await new Promise<void>((r) => setImmediate(r));
    }
  } else {
    for await (const ev of src) step(ev);
  }
  for (const e of merge.drain()) applyItem(e);
  for (const s of sinks) await s.close();
  opts.log?.info('embedded run complete', { ...stats, engines: [...engines.keys()] });
  return stats;
}

/**
 * One §6.4 payload per line, the bytes JSON.stringify of the payload object gives (the engine fixes its key order),
 * written by PayloadLineWriter (core payload-json.ts), which formats the payload's shape straight into bytes: several
 * times cheaper than JSON.stringify and a UTF-8 encode of the text. Lines are gathered to about 1 MiB and written
 * with writeSync: a stream write per payload cost more than its stringify, and a synchronous source gives a stream
 * few chances to drain, so its buffer would grow with the output.
 */
export class JsonlPayloadSink implements EmbeddedSink {
  private fd: number | null;
  private readonly out = new PayloadLineWriter(FLUSH_AT + (1 << 16));
  lines = 0;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
  }

  onPayload(p: LevelPhysicsPayload): void {
    this.out.line(p);
    this.lines++;
    if (this.out.length >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    const n = this.out.length;
    if (this.fd === null || n === 0) return;
    const bytes = this.out.bytes;
    for (let off = 0; off < n; ) off += writeSync(this.fd, bytes, off, n - off);
    this.out.length = 0;
  }

  /** Writes what is pending and closes the file; closing twice is a no-op. */
  close(): Promise<void> {
    try {
      this.flush();
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

/** Gold `levels.signals.v1` rows as ZSTD Parquet under DATA_ROOT (plan §2.3 layout), one writer per underlying. */
export class GoldParquetSink implements EmbeddedSink {
  private readonly writers = new Map<string, GoldSignalWriter>();
  readonly files: ParquetFileWritten[] = [];

  constructor(
    private readonly dataRoot: string,
    private readonly flushRows: number,
  ) {}

  onPayload(p: LevelPhysicsPayload): void {
    let w = this.writers.get(p.underlying);
    if (!w) {
      w = new GoldSignalWriter({ dataRoot: this.dataRoot, underlying: p.underlying, flushRows: this.flushRows });
      this.writers.set(p.underlying, w);
    }
    w.append(toSignalRows(p));
  }

  close(): void {
    for (const w of this.writers.values()) this.files.push(...w.close());
  }
}

export interface SummaryOptions {
  /** Where the summary goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Redraw interval on a TTY, in wall ms. */
  intervalMs?: number;
  /** Without a TTY: one plain line per this much event time (default 30 s), so short fast runs still show progress. */
  lineEveryEventMs?: number;
  /** Wall clock for events/s (shell code; the core never reads a clock). */
  nowMs?: () => number;
  /** How many nearest levels to show. */
  levels?: number;
}

/**
 * Live terminal summary: spot, the nearest levels with score and signal, signal counts, events/s. On a TTY it
 * redraws in place; otherwise it prints a plain line per interval (logs and CI stay readable).
 */
export class LiveSummarySink implements EmbeddedSink {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly nLevels: number;
  private readonly started: number;
  private lastDraw = 0;
  private lastLineTs = -Infinity;
  private readonly lineEvery: number;
  private drawnLines = 0;
  private last: LevelPhysicsPayload | null = null;
  /** BREAK/REJECT as discrete events when the engine emits them (else transitions), never ticks (SignalTally). */
  private readonly tally = new SignalTally();
  /** Set by the runner's progress callback so events/s can be shown. */
  events = 0;

  constructor(opts: SummaryOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.interval = opts.intervalMs ?? 200;
    this.lineEvery = opts.lineEveryEventMs ?? 30_000;
    this.now = opts.nowMs ?? Date.now;
    this.nLevels = opts.levels ?? 5;
    this.started = this.now();
  }

  /** What the summary shows (and `demo` reports): events, not ticks. */
  get counts(): SignalCounts {
    return this.tally.counts();
  }

  onPayload(p: LevelPhysicsPayload): void {
    this.last = p;
    this.tally.add(p);
    if (!this.tty) {
      if (p.ts - this.lastLineTs >= this.lineEvery) {
        this.lastLineTs = p.ts;
        this.draw(false);
      }
      return;
    }
    const t = this.now();
    if (t - this.lastDraw >= this.interval) {
      this.lastDraw = t;
      this.draw(false);
    }
  }

  render(final: boolean): string[] {
    const p = this.last;
    const secs = Math.max(1e-3, (this.now() - this.started) / 1000);
    const c = this.counts;
    const head = `${final ? 'done' : 'live'} | ${p ? new Date(p.ts).toISOString().slice(11, 23) : '--'} ${p?.underlying ?? ''} spot ${p ? p.spy.spot.toFixed(3) : '-'} | ${c.counted_as === 'events' ? 'events' : 'signals'} BREAK ${c.BREAK} REJECT ${c.REJECT} CONTESTED ${c.CONTESTED} | ${Math.round(this.events / secs)} events/s`;
    if (!this.tty) {
      const near = (p?.levels ?? []).slice(0, 3).map((l) => `${l.id}@${l.price} ${l.break_score_smooth.toFixed(0)} ${l.signal}`).join(', ');
      return [`${head}${near ? ` | ${near}` : ''}`];
    }
    const lines = [head];
    for (const l of (p?.levels ?? []).slice(0, this.nLevels)) {
      lines.push(
        `  ${l.id.padEnd(14)} ${l.price.toFixed(2).padStart(8)} ${l.direction.padEnd(10)} dist ${l.distance.toFixed(3).padStart(6)}  score ${l.break_score_smooth.toFixed(1).padStart(5)}  ${l.signal.padEnd(9)} ${l.barrier.state.padEnd(10)} ${l.fuel.effect.padEnd(8)} ${l.note}`,
      );
    }
    return lines;
  }

  private draw(final: boolean): void {
    const lines = this.render(final);
    if (this.tty) {
      // Move up over the previous frame and clear it, then draw the new one.
      if (this.drawnLines > 0) this.stream.write(`\x1b[${this.drawnLines}F\x1b[J`);
      this.stream.write(lines.join('\n') + '\n');
      this.drawnLines = lines.length;
    } else this.stream.write(lines.join('\n') + '\n');
  }

  close(): void {
    this.draw(true);
  }
}
