// `demo --feed databento-fake`: the ES book and trades come through the Databento live path end to end — the
// simulated session's futures events are written as Databento DBN records (MBP-10 + trades, ES.c.0 → one
// instrument), served by the fake gateway over a real local TCP socket, read back by the live client (CRAM auth,
// subscriptions, in-stream symbol mappings) and normalized by the same code as `feed databento` — while SPY quotes,
// trades and options come from the simulator beside them. No servers, no key, no internet.
import type { InputEvent } from '@snap/core';
import { DatabentoLiveClient, ES_SIM_DEFAULTS, FakeDatabentoGateway, FuturesEventsToDbn, esSimMetadata, type Mbp10Msg, type TradeMsg } from '@snap/dbn';
import type { Logger } from '@snap/platform';
import { DatabentoFeed, type DatabentoFeedStats } from './databento-feed';
import type { DeadLetterInput, FeedSink } from './sink';

/** A FeedSink that hands the events on as an async stream (unbounded: the demo's session is finite). */
class QueueSink implements FeedSink {
  private readonly q: InputEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  deadLetters = 0;

  async emit(ev: InputEvent): Promise<void> {
    this.q.push(ev);
    this.wake?.();
  }

  async deadLetter(_d: DeadLetterInput): Promise<void> {
    this.deadLetters++;
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async next(): Promise<InputEvent | null> {
    for (;;) {
      if (this.q.length > 0) return this.q.shift()!;
      if (this.ended) return null;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

export interface DatabentoFakeDemo {
  /** The simulator's non-futures events and the live feed's futures events, merged in ts_event order. */
  events: AsyncIterable<InputEvent>;
  /** Resolves when the live feed has delivered everything: its dead letters and stats. */
  finished: Promise<{ deadLetters: number; stats: DatabentoFeedStats }>;
  gateway: string;
}

export async function startDatabentoFakeDemo(opts: { session: Iterable<InputEvent>; underlying: string; symbolRoot: string; logger: Logger }): Promise<DatabentoFakeDemo> {
  const others: InputEvent[] = [];
  const mbp10: Mbp10Msg[] = [];
  const trades: TradeMsg[] = [];
  const conv = new FuturesEventsToDbn({ instrumentId: ES_SIM_DEFAULTS.instrumentId });
  for (const ev of opts.session) {
    if (ev.schema === 'futures.mbp10.v1' || ev.schema === 'futures.trades.v1') {
      const out = conv.push(ev);
      mbp10.push(...out.mbp10);
      trades.push(...out.trades);
    } else others.push(ev);
  }
  const first = mbp10[0]?.ts_event ?? others[0]?.ts_event_ns ?? 0n;
  const last = mbp10[mbp10.length - 1]?.ts_event ?? first;
  const metaOpts = { seed: 0, startNs: first, durationNs: last - first + 1n };
  const apiKey = 'db-demo-fake-gateway-key';
  const log = opts.logger;
  const gw = await FakeDatabentoGateway.start({
    apiKey,
    sources: [
      { metadata: esSimMetadata(metaOpts, 'mbp-10'), records: mbp10 },
      { metadata: esSimMetadata(metaOpts, 'trades'), records: trades },
    ],
    logger: log.child({ name: 'fake-databento' }),
  });
  const client = new DatabentoLiveClient({
    apiKey,
    dataset: gw.dataset,
    gateway: { host: gw.host, port: gw.port },
    subscriptions: [
      { schema: 'mbp-10', symbols: ['ES.c.0'] },
      { schema: 'trades', symbols: ['ES.c.0'] },
    ],
    logger: log.child({ name: 'databento-live' }),
  });
  const sink = new QueueSink();
  const feed = new DatabentoFeed({ client, sink, underlying: opts.underlying, symbolRoot: opts.symbolRoot, schemas: ['mbp-10', 'trades'], untilReplayCompleted: true, logger: log.child({ name: 'databento-feed' }) });
  const finished = feed
    .run()
    .finally(() => {
      sink.end();
      return gw.close();
    })
    .then((stats) => ({ deadLetters: sink.deadLetters, stats }));
  finished.catch(() => sink.end());

  async function* merged(): AsyncGenerator<InputEvent> {
    let live = await sink.next();
    for (const ev of others) {
      while (live && live.ts_event_ns <= ev.ts_event_ns) {
        yield live;
        live = await sink.next();
      }
      yield ev;
    }
    while (live) {
      yield live;
      live = await sink.next();
    }
    await finished;
  }
  return { events: merged(), finished, gateway: gw.address };
}
