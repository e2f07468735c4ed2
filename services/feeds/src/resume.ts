// Resume point of a replay (`feed dbn|sim --resume FILE`): which records of which source (a DBN file, a simulated
// session named by its seed and parameters) were already produced, the producer's ordering state, and the Kafka
// offsets the sink had reached, so a restarted replay continues after the last acknowledged record instead of
// duplicating or re-checking order from scratch. Saved only after the sink acknowledged a flush; what a killed run
// wrote after its last save is found from the partitions' end offsets and skipped (KafkaFeedSink.prepareResume).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ResumeFilePosition {
  /** Count of normalized records of this file already produced (the next one to produce has this index). */
  index: number;
  /** ts_event_ns of the last produced record (decimal string), or null before the first one. */
  ts_event_ns: string | null;
  /** The whole file was produced (including a decode error at its end, which is final for that file). */
  done: boolean;
}

export interface ResumeState {
  version: 1;
  files: Record<string, ResumeFilePosition>;
  /** PartitionOrderGuard snapshot: last ts per (stream|key). */
  partitions: Record<string, string>;
  /** HeartbeatScheduler snapshot: last heartbeat ts per key. */
  heartbeats: Record<string, string>;
  /** Kafka sink: next offset per `topic:partition` at the save (decimal strings); absent for file outputs. */
  offsets?: Record<string, string>;
}

export class ResumeFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ResumeFileError';
  }
}

const empty = (): ResumeState => ({ version: 1, files: {}, partitions: {}, heartbeats: {} });

export class ResumePoint {
  private constructor(
    readonly path: string,
    private state: ResumeState,
  ) {}

  /** A missing file is a fresh start; an unreadable or malformed one stops the replay (it would duplicate data). */
  static load(path: string): ResumePoint {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new ResumePoint(path, empty());
      throw new ResumeFileError(`cannot read resume file ${path}: ${(e as Error).message}`, path);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ResumeFileError(`resume file ${path} is not valid JSON: ${(e as Error).message}`, path);
    }
    return new ResumePoint(path, validate(raw, path));
  }

  static fileKey(file: string): string {
    return resolve(file);
  }

  position(file: string): ResumeFilePosition {
    return this.state.files[ResumePoint.fileKey(file)] ?? { index: 0, ts_event_ns: null, done: false };
  }

  record(file: string, pos: ResumeFilePosition): void {
    this.state.files[ResumePoint.fileKey(file)] = { ...pos };
  }

  get partitions(): Record<string, string> {
    return this.state.partitions;
  }

  get heartbeats(): Record<string, string> {
    return this.state.heartbeats;
  }

  get offsets(): Record<string, string> {
    return this.state.offsets ?? {};
  }

  /** Atomic (temp + rename): a crash mid-save leaves the previous resume point, never half a file. */
  save(partitions: Record<string, string>, heartbeats: Record<string, string>, offsets?: Record<string, string>): void {
    this.state.partitions = { ...partitions };
    this.state.heartbeats = { ...heartbeats };
    if (offsets) this.state.offsets = { ...offsets };
    mkdirSync(dirname(resolve(this.path)), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n');
    renameSync(tmp, this.path);
  }

  toJSON(): ResumeState {
    return structuredClone(this.state);
  }
}

function validate(raw: unknown, path: string): ResumeState {
  const bad = (what: string) => new ResumeFileError(`resume file ${path}: ${what}`, path);
  if (!raw || typeof raw !== 'object') throw bad('expected a JSON object');
  const r = raw as Record<string, unknown>;
  if (r.version !== 1) throw bad(`unsupported version ${JSON.stringify(r.version)} (expected 1)`);
  const files = (r.files ?? {}) as Record<string, unknown>;
  if (typeof files !== 'object') throw bad('"files" must be an object');
  const out = empty();
  for (const [f, p] of Object.entries(files)) {
    const pos = p as Record<string, unknown>;
    if (!pos || typeof pos !== 'object' || !Number.isInteger(pos.index) || (pos.index as number) < 0) throw bad(`files[${JSON.stringify(f)}].index must be a non-negative integer`);
    if (pos.ts_event_ns !== null && !(typeof pos.ts_event_ns === 'string' && /^-?\d+$/.test(pos.ts_event_ns))) throw bad(`files[${JSON.stringify(f)}].ts_event_ns must be a decimal string or null`);
    out.files[f] = { index: pos.index as number, ts_event_ns: pos.ts_event_ns as string | null, done: pos.done === true };
  }
  if (r.offsets !== undefined) {
    if (!r.offsets || typeof r.offsets !== 'object') throw bad('"offsets" must be an object');
    out.offsets = {};
    for (const [k, v] of Object.entries(r.offsets as Record<string, unknown>)) {
      if (typeof v !== 'string' || !/^\d+$/.test(v) || !/:\d+$/.test(k)) throw bad(`offsets[${JSON.stringify(k)}] must be a "topic:partition" key with a decimal offset string`);
      out.offsets[k] = v;
    }
  }
  for (const section of ['partitions', 'heartbeats'] as const) {
    const m = (r[section] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw bad(`${section}[${JSON.stringify(k)}] must be a decimal string`);
      out[section][k] = v;
    }
  }
  return out;
}
