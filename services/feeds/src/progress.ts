// Replay progress on stderr: an updating line on a TTY, a plain line every few seconds otherwise (CI logs, files),
// so stdout stays free for command output.
import type { Clock } from '@snap/platform';

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  label: string;
  /** Units of work expected (records or bytes); unknown → no bar, only counts and rate. */
  total?: number;
  unit?: string;
  stream?: ProgressStream;
  clock: Clock;
  /** Minimum ms between renders: TTY default 200, non-TTY default 5000. */
  intervalMs?: number;
}

const fmtCount = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n));

function isoOfNs(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  return Number.isNaN(d.getTime()) ? String(ns) : d.toISOString();
}

export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly startMs: number;
  private lastRenderMs = -Infinity;
  private lastLen = 0;
  private doneUnits = 0;
  private eventTs: bigint | null = null;
  private label: string;
  /** Lines written, for tests. */
  renders = 0;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.intervalMs = opts.intervalMs ?? (this.tty ? 200 : 5000);
    this.startMs = opts.clock.nowMs();
    this.label = opts.label;
  }

  setLabel(label: string): void {
    this.label = label;
  }

  update(done: number, eventTsNs?: bigint): void {
    this.doneUnits = done;
    if (eventTsNs !== undefined) this.eventTs = eventTsNs;
    const now = this.opts.clock.nowMs();
    if (now - this.lastRenderMs < this.intervalMs) return;
    this.lastRenderMs = now;
    this.render(now, false);
  }

  /** Final line (always written, and on a TTY it ends the updating line). */
  finish(): void {
    this.render(this.opts.clock.nowMs(), true);
  }

  line(now = this.opts.clock.nowMs()): string {
    const { total, unit = 'records' } = this.opts;
    const elapsedS = Math.max((now - this.startMs) / 1000, 1e-9);
    const rate = this.doneUnits / elapsedS;
    const parts = [this.label];
    if (total && total > 0) {
      const frac = Math.min(this.doneUnits / total, 1);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}%`);
      parts.push(`${fmtCount(this.doneUnits)}/${fmtCount(total)} ${unit}`);
    } else {
      parts.push(`${fmtCount(this.doneUnits)} ${unit}`);
    }
    parts.push(`${fmtCount(Math.round(rate))}/s`);
    if (this.eventTs !== null) parts.push(`event time ${isoOfNs(this.eventTs)}`);
    return parts.join('  ');
  }

  private render(now: number, final: boolean): void {
    const text = this.line(now);
    this.renders++;
    if (this.tty) {
      const pad = this.lastLen > text.length ? ' '.repeat(this.lastLen - text.length) : '';
      this.stream.write(`\r${text}${pad}${final ? '\n' : ''}`);
      this.lastLen = text.length;
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}
