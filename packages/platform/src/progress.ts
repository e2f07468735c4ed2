// Progress and end summaries for every long command, on stderr (stdout stays free for command output).
//
// On a TTY: a bar with percent, count, rate and ETA (cli-progress), redrawn in place; with an unknown total, count,
// rate and elapsed time. Not on a TTY (CI logs, files, pipes): one JSON line `{"progress": label, ...}` at start,
// every `intervalMs` (5 s) and at the end, so a log always shows that the command moved and how far it got.
// `printSummary` ends a command: readable lines on a TTY, one JSON line `{"summary": command, ...}` otherwise.
// Times shown to people go through `formatTime` with an explicit zone label (`--tz`, default UTC).
import { SingleBar } from 'cli-progress';

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export type ProgressMode = 'auto' | 'tty' | 'json' | 'off';

export interface ProgressOptions {
  /** What is being done, e.g. `run input.jsonl`. */
  label: string;
  /** Units of work expected (records, bytes, event-time ms); unknown → no percent and no ETA. */
  total?: number;
  unit?: string;
  stream?: ProgressStream;
  /** auto (default): a bar on a TTY, JSON lines otherwise; SNAPENGINE_PROGRESS=off|json|tty overrides auto. */
  mode?: ProgressMode;
  /** Minimum wall ms between JSON lines (default 5000). */
  intervalMs?: number;
  /** Wall clock (shell code: the core never reads a clock). */
  nowMs?: () => number;
}

export interface ProgressSnapshot {
  progress: string;
  done: number;
  total?: number;
  unit: string;
  percent?: number;
  rate_per_s: number;
  eta_s?: number;
  elapsed_s: number;
  [field: string]: unknown;
}

/** 1234 → "1234", 56789 → "56.8k", 1234567 → "1.23M". */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  return a >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : a >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : a >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));
}

/** Seconds as "4s", "2m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Thrown for a --tz that is not an IANA zone name. */
export class TimeZoneError extends Error {
  override name = 'TimeZoneError';
  readonly exitCode = 2;
}

/** Validates an IANA time zone (`UTC`, `America/New_York`) for `--tz`; throws TimeZoneError naming it. */
export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new TimeZoneError(`unknown time zone ${JSON.stringify(tz)}: use an IANA name such as UTC or America/New_York`);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * An instant (Unix ms as a number, or Unix ns as a bigint) as "2026-01-15 09:30:00.123 America/New_York": the wall
 * time in that zone, labelled with it (15:00 UTC is 10:00 in New York, so a time without its zone misleads).
 */
export function formatTime(t: number | bigint, tz = 'UTC'): string {
  const ms = typeof t === 'bigint' ? Number(t / 1_000_000n) : t;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(t);
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
  const frac = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${frac} ${tz}`;
}

function resolveMode(opts: { mode?: ProgressMode; stream: ProgressStream }): Exclude<ProgressMode, 'auto'> {
  const mode = opts.mode ?? 'auto';
  if (mode !== 'auto') return mode;
  const env = process.env.SNAPENGINE_PROGRESS;
  if (env === 'off' || env === 'json' || env === 'tty') return env;
  return opts.stream.isTTY ? 'tty' : 'json';
}

// cli-progress re-arms a redraw timer after every render; unref'd, a command that forgets finish() still exits.
class UnrefSingleBar extends SingleBar {
  override render(): void {
    (SingleBar.prototype as unknown as { render(this: SingleBar): void }).render.call(this);
    (this as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref?.();
  }
}

export class Progress {
  readonly mode: Exclude<ProgressMode, 'auto'>;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly startMs: number;
  private readonly unit: string;
  private total: number | undefined;
  private done = 0;
  private fields: Record<string, string | number> = {};
  private lastLineMs = -Infinity;
  private bar: UnrefSingleBar | null = null;
  private finished = false;
  /** JSON lines written (tests). */
  lines = 0;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.mode = resolveMode({ mode: opts.mode, stream: this.stream });
    this.now = opts.nowMs ?? Date.now;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.startMs = this.now();
    this.unit = opts.unit ?? 'records';
    this.total = opts.total !== undefined && opts.total > 0 ? opts.total : undefined;
    if (this.mode === 'tty') {
      this.bar = new UnrefSingleBar({
        stream: this.stream as NodeJS.WritableStream,
        format: () => this.text(),
        hideCursor: false,
        gracefulExit: false, // a SIGINT listener would stop Node's default exit on Ctrl-C
        linewrap: true,
        fps: 5,
        // SNAPENGINE_PROGRESS=tty on a stream that is not a terminal: draw anyway (cli-progress skips non-TTY streams).
        noTTYOutput: !this.stream.isTTY,
      });
      this.bar.start(this.total ?? 1, 0);
    } else if (this.mode === 'json') {
      this.writeJson();
    }
  }

  /** Total becomes known (or changes) after start, e.g. once a file's size is read. */
  setTotal(total: number | undefined): void {
    this.total = total !== undefined && total > 0 ? total : undefined;
  }

  /** `done` units so far; `fields` ride along (e.g. payloads, signals, event time). Cheap: call it per record. */
  update(done: number, fields?: Record<string, string | number>): void {
    this.done = done;
    if (fields) this.fields = { ...this.fields, ...fields };
    if (this.mode === 'tty') {
      this.bar?.update(Math.min(done, this.total ?? 1));
    } else if (this.mode === 'json') {
      const t = this.now();
      if (t - this.lastLineMs >= this.intervalMs) this.writeJson(t);
    }
  }

  /** Ends the bar (a final 100 % frame when complete) or writes the last JSON line. Idempotent. */
  finish(fields?: Record<string, string | number>): void {
    if (this.finished) return;
    this.finished = true;
    if (fields) this.fields = { ...this.fields, ...fields };
    if (this.bar) {
      this.bar.update(Math.min(this.done, this.total ?? 1));
      this.bar.stop();
      this.bar = null;
    } else if (this.mode === 'json') this.writeJson();
  }

  snapshot(t = this.now()): ProgressSnapshot {
    const elapsed = Math.max((t - this.startMs) / 1000, 1e-3);
    const rate = this.done / elapsed;
    const s: ProgressSnapshot = { progress: this.opts.label, done: this.done, unit: this.unit, rate_per_s: Math.round(rate), elapsed_s: Math.round(elapsed * 10) / 10 };
    if (this.total !== undefined) {
      s.total = this.total;
      s.percent = Math.round(Math.min(this.done / this.total, 1) * 1000) / 10;
      if (rate > 0) s.eta_s = Math.max(0, Math.round((this.total - this.done) / rate));
    }
    return { ...s, ...this.fields };
  }

  /** The bar's text (TTY). */
  text(t = this.now()): string {
    const s = this.snapshot(t);
    // Most important first: a narrow terminal cuts the line's end.
    const parts = [this.opts.label];
    if (s.total !== undefined) {
      const width = 24;
      const filled = Math.round(((s.percent ?? 0) / 100) * width);
      parts.push(`[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${(s.percent ?? 0).toFixed(1)}% ETA ${s.eta_s !== undefined ? formatDuration(s.eta_s) : '?'}`);
      parts.push(`${formatCount(s.done)}/${formatCount(s.total)} ${s.unit}`);
    } else parts.push(`${formatCount(s.done)} ${s.unit}`, `elapsed ${formatDuration(s.elapsed_s)}`);
    parts.push(`${formatCount(s.rate_per_s)}/s`);
    for (const [k, v] of Object.entries(this.fields)) parts.push(`${k} ${typeof v === 'number' ? formatCount(v) : v}`);
    return parts.join(' | ');
  }

  private writeJson(t = this.now()): void {
    this.lastLineMs = t;
    this.lines++;
    this.stream.write(JSON.stringify(this.snapshot(t)) + '\n');
  }
}

export interface SummaryOptions {
  stream?: ProgressStream;
  /** tty: readable lines; json: one JSON line. Default: as Progress (a TTY gets lines). */
  mode?: ProgressMode;
}

/**
 * The end-of-command summary. `fields` in display order; nested objects (signals by kind) print as "BREAK 3, REJECT 5".
 * Returns the text written.
 */
export function printSummary(command: string, fields: Record<string, unknown>, opts: SummaryOptions = {}): string {
  const stream = opts.stream ?? process.stderr;
  const mode = resolveMode({ mode: opts.mode, stream });
  if (mode === 'off') return '';
  let text: string;
  if (mode === 'json') text = JSON.stringify({ summary: command, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
  else {
    const width = Math.max(...Object.keys(fields).map((k) => k.length), 4);
    const show = (v: unknown): string =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} ${show(x)}`).join(', ') || '-'
        : Array.isArray(v)
          ? v.map(show).join('; ')
          : typeof v === 'number'
            ? String(v)
            : String(v);
    text = `── ${command} summary ──\n` + Object.entries(fields).map(([k, v]) => `  ${k.replace(/_/g, ' ').padEnd(width)}  ${show(v)}`).join('\n') + '\n';
  }
  stream.write(text);
  return text;
}
