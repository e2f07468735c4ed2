// What an embedded run tells its user (issue 13): progress while it reads, the input diagnostics (which input is
// missing or stale, for which underlying, who needs it — core input-needs.ts) as they are found, and an end summary
// with signals counted as events (else transitions), dead letters and time. Shared by `run` and the other commands
// that drive runEmbedded, so they all report alike and exit with the same codes.
import { InputDiagnostics, SignalTally, type Config, type InputEvent, type InputIssue, type LevelPhysicsPayload } from '@snap/core';
import { EXIT, Progress, formatDuration, formatTime, printSummary, type ProgressStream } from '@snap/platform';
import type { EmbeddedSink, EmbeddedStats } from '@snap/processor';

export interface EmbeddedReportOptions {
  /** `run`, `eval`, … (prefixes the diagnostic lines: `snap-engine run: no stocks.quotes.v1 for SPY: …`). */
  command: string;
  cfg: Config;
  /** Progress label, e.g. the input file. */
  label: string;
  /** Progress unit and total (bytes of the input file; unknown → counts and rate only). */
  unit?: string;
  total?: number;
  /** Display zone for event times (`--tz`). */
  tz: string;
  stream?: ProgressStream;
}

export class EmbeddedReport {
  readonly diagnostics: InputDiagnostics;
  readonly tally = new SignalTally();
  readonly progress: Progress;
  private readonly stream: ProgressStream;
  private readonly started = Date.now();
  private payloads = 0;
  /** Progress position (bytes read, …) set by the source; events are counted by `tap`. */
  position = 0;

  /** Counts signals; add it to runEmbedded's sinks. */
  readonly sink: EmbeddedSink = {
    onPayload: (p: LevelPhysicsPayload) => {
      this.payloads++;
      this.tally.add(p);
    },
    close: () => undefined,
  };

  constructor(private readonly opts: EmbeddedReportOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.diagnostics = new InputDiagnostics(opts.cfg);
    this.progress = new Progress({ label: opts.label, unit: opts.unit ?? 'events', total: opts.total, stream: this.stream });
  }

  /**
   * The source, observed: diagnostics per event (stale inputs reported as found), progress every few thousand events.
   * A synchronous source stays synchronous (runEmbedded then iterates it without a promise per event).
   */
  tap(source: Iterable<InputEvent>): Iterable<InputEvent>;
  tap(source: Iterable<InputEvent> | AsyncIterable<InputEvent>): Iterable<InputEvent> | AsyncIterable<InputEvent>;
  tap(source: Iterable<InputEvent> | AsyncIterable<InputEvent>): Iterable<InputEvent> | AsyncIterable<InputEvent> {
    const self = this;
    if (Symbol.iterator in source) {
      return (function* () {
        let n = 0;
        for (const ev of source) {
          self.observe(ev, ++n);
          yield ev;
        }
        self.progressAt(n);
      })();
    }
    return (async function* () {
      let n = 0;
      for await (const ev of source) {
        self.observe(ev, ++n);
        yield ev;
      }
      self.progressAt(n);
    })();
  }

  private observe(ev: InputEvent, n: number): void {
    const found = this.diagnostics.observe(ev);
    if (found.length) this.report(found);
    if ((n & 4095) === 0) this.progressAt(n);
  }

  private progressAt(n: number): void {
    this.progress.update(this.opts.total !== undefined ? this.position : n, { events: n, payloads: this.payloads });
  }

  private report(issues: InputIssue[]): void {
    for (const i of issues) this.stream.write(`snap-engine ${this.opts.command}: ${i.message}\n`);
  }

  /**
   * Ends progress, names the inputs that never came, prints the summary and returns the exit code: 1 when no payload
   * was produced (with the likely reason), 3 when records were dead-lettered, else 0.
   */
  finish(stats: EmbeddedStats, extra: Record<string, unknown> = {}): { exitCode: number; noPayloadReason: string | null } {
    this.progress.finish({ events: stats.events, payloads: stats.payloads });
    const missing = this.diagnostics.finish();
    this.report(missing);
    const deadLetters = stats.deadLettered.late + stats.deadLettered.implausible;
    const { counted_as, ...signals } = this.tally.counts();
    const tz = this.opts.tz;
    printSummary(
      this.opts.command,
      {
        ...extra,
        events: stats.events,
        ...(stats.skipped ? { skipped_other_underlyings: stats.skipped } : {}),
        payloads: stats.payloads,
        [`signals_${counted_as}`]: signals,
        dead_letters: deadLetters,
        input_issues: this.diagnostics.issues.length,
        event_time: stats.firstNs === null ? '-' : `${formatTime(stats.firstNs, tz)} → ${formatTime(stats.lastNs!, tz)}`,
        wall_time: formatDuration((Date.now() - this.started) / 1000),
      },
      { stream: this.stream },
    );
    let noPayloadReason: string | null = null;
    if (stats.payloads === 0) {
      const required = this.diagnostics.issues.filter((i) => i.required);
      noPayloadReason =
        stats.events === 0
          ? 'the input holds no events'
          : stats.skipped === stats.events
            ? `every record is keyed by an underlying not in underlyings (${this.opts.cfg.underlyings.join(',')}): set UNDERLYINGS or the records' "key"`
            : required.length
              ? `a required input is missing (${required.map((i) => (i.schema ? `${i.schema} for ${i.underlying}` : i.underlying)).join(', ')}); see the lines above and docs/data.md`
              : `the input closes no snap tick (it spans less than snap.tick_ms=${this.opts.cfg.snap.tick_ms} ms of event time with a valid quote, or only idle gaps)`;
      this.stream.write(`snap-engine ${this.opts.command}: no payload produced: ${noPayloadReason}\n`);
      return { exitCode: EXIT.FAILED, noPayloadReason };
    }
    return { exitCode: deadLetters > 0 ? EXIT.DEAD_LETTERS : EXIT.OK, noPayloadReason };
  }
}
