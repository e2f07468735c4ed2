// Drives a finite, event-time-ordered source (simulator session, decoded DBN file) into a sink: paced, with
// progress, stoppable between records (SIGINT/SIGTERM) without losing what was already emitted.
import type { InputEvent } from '@snap/core';
import type { FeedSink } from './sink';
import type { ReplayPacer } from './pacing';
import type { ProgressReporter } from './progress';

export interface ReplayOptions {
  sink: FeedSink;
  pacer?: ReplayPacer;
  progress?: ProgressReporter;
  /** Checked before each record; true stops the replay after the record in hand. */
  shouldStop?: () => boolean;
  /** Records of the source to skip (already produced before a restart). */
  skip?: number;
  /** Called after each emitted record with the count of source records consumed so far (skipped ones included). */
  onEmitted?: (index: number, ev: InputEvent) => Promise<void> | void;
}

export interface ReplayResult {
  /** Source records consumed (skipped + emitted). */
  index: number;
  emitted: number;
  lastTsNs: bigint | null;
  stopped: boolean;
}

export async function replayEvents(events: Iterable<InputEvent> | AsyncIterable<InputEvent>, opts: ReplayOptions): Promise<ReplayResult> {
  const skip = opts.skip ?? 0;
  let index = 0;
  let emitted = 0;
  let lastTsNs: bigint | null = null;
  for await (const ev of events as AsyncIterable<InputEvent>) {
    if (opts.shouldStop?.()) return { index, emitted, lastTsNs, stopped: true };
    index++;
    if (index <= skip) continue;
    // Awaited only when there is something to wait for: an await of undefined is a microtask turn per record.
    if (opts.pacer) await opts.pacer.pace(ev.ts_event_ns);
    await opts.sink.emit(ev);
    emitted++;
    lastTsNs = ev.ts_event_ns;
    opts.progress?.update(index, ev.ts_event_ns);
    if (opts.onEmitted) await opts.onEmitted(index, ev);
  }
  return { index, emitted, lastTsNs, stopped: false };
}
