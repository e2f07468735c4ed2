// The embedded bus for a live feed: the same ordering guard, late policy and heartbeats as the Kafka sink
// (OrderedFeedSink), then the deterministic merge across streams that the processor runs over Kafka partitions, so
// the engine sees one stream in (ts_event_ns, stream rank, arrival) order — never a record from the past of another.
import { DATA_INPUT_SCHEMAS, DeterministicMerge, INPUT_SCHEMA_RANK, type Heartbeat, type InputEvent, type InputSchema } from '@snap/core';
import { OrderedFeedSink, type DeadLetter, type OrderedSinkOptions } from './sink';

export class InProcessBusSink extends OrderedFeedSink {
  private readonly merge = new DeterministicMerge<InputEvent>([...DATA_INPUT_SCHEMAS], (e) => INPUT_SCHEMA_RANK[e.schema]);
  private arrival = 0n;
  private readonly queue: InputEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  readonly deadLetters: DeadLetter[] = [];

  constructor(opts: OrderedSinkOptions) {
    super(opts);
  }

  /** The merged stream; it ends once the sink is closed and everything buffered has been released. */
  async *events(): AsyncGenerator<InputEvent> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  protected async writeEvent(ev: InputEvent): Promise<void> {
    this.merge.push(ev.schema, ev.ts_event_ns, this.arrival++, ev);
    this.enqueue(this.merge.release());
  }

  protected async writeHeartbeat(hb: Heartbeat, streams: readonly InputSchema[]): Promise<void> {
    for (const s of streams) this.merge.advance(s, hb.ts_event_ns);
    // The heartbeat itself goes last: at equal time it ranks after every data stream.
    this.enqueue([...this.merge.release(), hb]);
  }

  protected async writeDeadLetter(d: DeadLetter): Promise<void> {
    this.deadLetters.push(d);
    this.log.warn('dead letter', { reason: d.reason, error_class: d.error_class, key: d.key });
  }

  protected async flushOutput(): Promise<void> {}

  protected async closeOutput(): Promise<void> {
    this.enqueue(this.merge.drain());
    this.ended = true;
    this.wake?.();
  }

  protected override heartbeatRecordCount(): number {
    return 1;
  }

  private enqueue(evs: InputEvent[]): void {
    if (evs.length === 0) return;
    this.queue.push(...evs);
    this.wake?.();
  }
}
