// Replay progress on stderr through the shared platform Progress (a bar with percent, rate and ETA on a TTY, JSON
// lines otherwise), so stdout stays free for command output. A replay knows its end in EVENT time (the simulated
// duration, a DBN file's metadata end): with an event span the percent and ETA follow event time; otherwise a known
// record total; otherwise counts and rate only. The current event time is shown in the display zone, labelled.
import { Progress, formatTime, type Clock, type ProgressMode } from '@snap/platform';

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  label: string;
  /** Units of work expected (records); unknown → no percent unless an event span is given. */
  total?: number;
  unit?: string;
  stream?: ProgressStream;
  clock: Clock;
  /** Minimum ms between JSON lines when not on a TTY (default 5000). */
  intervalMs?: number;
  /** Event-time span of the whole replay: percent = event time covered / span. `startNs` defaults to the first event. */
  eventSpan?: { startNs?: bigint; endNs?: bigint; durationMs?: number };
  /** Display zone for event times (default UTC). */
  tz?: string;
  mode?: ProgressMode;
}

export class ProgressReporter {
  private readonly progress: Progress;
  private readonly tz: string;
  private startNs: bigint | null;
  private spanMs: number | null;
  private records = 0;
  private eventTs: bigint | null = null;

  constructor(private readonly opts: ProgressOptions) {
    this.tz = opts.tz ?? 'UTC';
    const span = opts.eventSpan;
    this.startNs = span?.startNs ?? null;
    this.spanMs = span?.durationMs ?? (span?.endNs !== undefined && span.startNs !== undefined ? Number((span.endNs - span.startNs) / 1_000_000n) : null);
    const bySpan = this.spanMs !== null && this.spanMs > 0;
    this.progress = new Progress({
      label: opts.label,
      unit: bySpan ? 's of event time' : (opts.unit ?? 'records'),
      total: bySpan ? this.spanMs! / 1000 : opts.total,
      stream: opts.stream,
      intervalMs: opts.intervalMs,
      nowMs: () => opts.clock.nowMs(),
      mode: opts.mode,
    });
  }

  /** `done` records so far; `eventTsNs` the event time reached. Cheap enough to call per record. */
  update(done: number, eventTsNs?: bigint): void {
    this.records = done;
    if (eventTsNs !== undefined) {
      this.eventTs = eventTsNs;
      this.startNs ??= eventTsNs;
      // A DBN span known only by its end: the first record starts it.
      if (this.spanMs === null && this.opts.eventSpan?.endNs !== undefined) this.spanMs = Number((this.opts.eventSpan.endNs - eventTsNs) / 1_000_000n);
    }
    if ((done & 255) !== 0 && done > 1) return; // formatting the time per record is not free
    this.push();
  }

  /** Final line (always written) or the bar's last frame. */
  finish(): void {
    this.push();
    this.progress.finish();
  }

  private push(): void {
    const fields: Record<string, string | number> = {};
    let done = this.records;
    if (this.spanMs !== null && this.spanMs > 0) {
      fields.records = this.records;
      done = this.eventTs !== null && this.startNs !== null ? Math.max(0, Number((this.eventTs - this.startNs) / 1_000_000n)) / 1000 : 0;
    }
    if (this.eventTs !== null) fields.event_time = formatTime(this.eventTs, this.tz);
    this.progress.update(done, fields);
  }
}
