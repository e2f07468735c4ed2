// KafkaFeedSink without a broker: a scripted producer that fails the way kafkajs does while a broker is down or a
// leader moves, then recovers. The real-broker counterparts are test/faults/feeds.test.ts.
import type { Admin, Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import type { StockTrade } from '@snap/core';
import { createLogger, manualClock, partitionForKey, type EnvelopeCodec } from '@snap/platform';
import { FeedProduceError, KafkaFeedSink, isTransientKafkaError } from './producer';

const MS = 1_000_000n;
const T0 = 1_765_000_000_000n * MS;

function trade(tsMs: number, price = 600.25): StockTrade {
  const ts = T0 + BigInt(tsMs) * MS;
  return { schema: 'stocks.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: ts, ts_recv_ns: ts, key: 'SPY', seq: null, event_id: `e${tsMs}`, symbol: 'SPY', price, size: 100, exchange: 4, conditions: [] };
}

const connectionError = () => Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), { name: 'KafkaJSConnectionError', retriable: true });
const notLeader = () => Object.assign(new Error('This server is not the leader for that topic-partition'), { name: 'KafkaJSProtocolError', type: 'NOT_LEADER_OR_FOLLOWER', retriable: true });
const outOfOrder = () => Object.assign(new Error('The broker received an out of order sequence number'), { name: 'KafkaJSProtocolError', type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false });

/** A producer whose next `failures` sendBatch calls throw `error()`; stores what it accepted per topic:partition. */
function scriptedProducer(failures: number, error: () => Error) {
  const log = new Map<string, string[]>();
  let left = failures;
  let calls = 0;
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async (b: ProducerBatch): Promise<RecordMetadata[]> => {
      calls++;
      if (left > 0) {
        left--;
        throw error();
      }
      const out: RecordMetadata[] = [];
      for (const tm of b.topicMessages!) {
        const byP = new Map<number, Message[]>();
        for (const m of tm.messages) byP.set(m.partition ?? 0, [...(byP.get(m.partition ?? 0) ?? []), m]);
        for (const [p, ms] of byP) {
          const k = `${tm.topic}:${p}`;
          const l = log.get(k) ?? [];
          out.push({ topicName: tm.topic, partition: p, errorCode: 0, baseOffset: String(l.length) });
          l.push(...ms.map((m) => String(m.value)));
          log.set(k, l);
        }
      }
      return out;
    },
  };
  return { producer: producer as unknown as Producer, log, calls: () => calls };
}

const codec = {
  register: async () => 1,
  encode: async (_t: string, schema: string, v: { event_id?: string; ts_event_ns: bigint }) => Buffer.from(schema === 'heartbeat.v1' ? `hb@${v.ts_event_ns}` : `${v.event_id}`),
} as unknown as EnvelopeCodec;

function sinkWith(producer: Producer, lines: string[], admin?: () => Admin) {
  const logger = createLogger({ write: (l: string) => void lines.push(l) });
  return new KafkaFeedSink({
    producer,
    codec,
    admin,
    topicFor: (s) => `t.${s}`,
    deadLetterTopic: 't.deadletter',
    batchRecords: 3,
    lingerMs: 0,
    partitions: 3,
    latePolicy: 'dead_letter',
    heartbeatMs: 0,
    clock: manualClock(T0),
    logger,
    retryBackoffMs: 1,
  });
}

const P = partitionForKey('SPY', 3);

describe('KafkaFeedSink rides through transient Kafka errors', () => {
  it.each([
    ['connection refused (broker down)', connectionError],
    ['NOT_LEADER_OR_FOLLOWER (leader moving)', notLeader],
  ])('%s: every record once, in order; one warning when the outage starts and one on recovery', async (_what, error) => {
    const p = scriptedProducer(25, error);
    const lines: string[] = [];
    const sink = sinkWith(p.producer, lines);
    await sink.connect();
    for (let i = 1; i <= 10; i++) await sink.emit(trade(i * 10));
    await sink.close();
    expect(p.log.get(`t.stocks.trades.v1:${P}`)).toEqual(Array.from({ length: 10 }, (_, i) => `e${(i + 1) * 10}`));
    expect(sink.outages).toBe(1);
    expect(lines.filter((l) => l.includes('kafka unavailable'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('kafka available again'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('"level":"error"'))).toHaveLength(0);
    expect(sink.offsetsSnapshot()).toEqual({ [`t.stocks.trades.v1:${P}`]: '10' });
  });

  it('a non-transient error stops the feed (FeedProduceError), it is not retried forever', async () => {
    const p = scriptedProducer(1, outOfOrder);
    const sink = sinkWith(p.producer, []);
    await sink.connect();
    await expect(
      (async () => {
        for (let i = 1; i <= 6; i++) await sink.emit(trade(i * 10));
        await sink.flush();
      })(),
    ).rejects.toThrow(FeedProduceError);
    expect(p.calls()).toBe(1);
    await sink.close().catch(() => undefined);
  });

  it('an implausible record is dead-lettered, never sent to its data topic', async () => {
    const p = scriptedProducer(0, connectionError);
    const sink = sinkWith(p.producer, []);
    await sink.connect();
    await sink.emit(trade(10, -1));
    await sink.emit(trade(20));
    await sink.close();
    expect(p.log.get(`t.stocks.trades.v1:${P}`)).toEqual(['e20']);
    expect(sink.metrics).toMatchObject({ implausible: 1, dead_lettered: 1, produced: 1 });
  });
});

describe('KafkaFeedSink.prepareResume', () => {
  it('skips exactly what the partition holds beyond the saved offset, then writes the rest', async () => {
    const p = scriptedProducer(0, connectionError);
    const tp = `t.stocks.trades.v1:${P}`;
    // The previous run saved offset 4, then wrote 2 more records before it was killed: the partition ends at 6.
    const admin = (() => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicOffsets: async (topic: string) => [0, 1, 2].map((partition) => ({ partition, offset: '0', high: topic === 't.stocks.trades.v1' && partition === P ? '6' : '0', low: '0' })),
    })) as unknown as () => Admin;
    const sink = sinkWith(p.producer, [], admin);
    await sink.connect();
    expect(await sink.prepareResume({ [tp]: '4' }, ['SPY'])).toEqual({ [tp]: 2 });
    for (const ts of [50, 60, 70, 80]) await sink.emit(trade(ts));
    await sink.close();
    expect(p.log.get(tp)).toEqual(['e70', 'e80']);
    expect(sink.skippedExisting).toBe(2);
    expect(sink.offsetsSnapshot()[tp]).toBe('2'); // the scripted producer's own offsets (it started empty)
  });

  it('refuses a partition that ends before the resume point (topic re-created)', async () => {
    const admin = (() => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicOffsets: async () => [0, 1, 2].map((partition) => ({ partition, offset: '0', high: '1', low: '0' })),
    })) as unknown as () => Admin;
    const sink = sinkWith(scriptedProducer(0, connectionError).producer, [], admin);
    await expect(sink.prepareResume({ [`t.stocks.trades.v1:${P}`]: '4' }, ['SPY'])).rejects.toThrow(/ends at offset 1, before the resume point's 4/);
  });
});

describe('isTransientKafkaError', () => {
  it('retries connection, timeout and leadership errors, also wrapped by kafkajs; never sequence or size errors', () => {
    expect(isTransientKafkaError(connectionError())).toBe(true);
    expect(isTransientKafkaError(notLeader())).toBe(true);
    expect(isTransientKafkaError(Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: notLeader() }))).toBe(true);
    expect(isTransientKafkaError(Object.assign(new Error('wrapped'), { name: 'KafkaJSNonRetriableError', originalError: connectionError() }))).toBe(true);
    expect(isTransientKafkaError(Object.assign(new Error('timeout'), { name: 'KafkaJSRequestTimeoutError' }))).toBe(true);
    expect(isTransientKafkaError(outOfOrder())).toBe(false);
    expect(isTransientKafkaError(Object.assign(new Error('too large'), { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' }))).toBe(false);
    expect(isTransientKafkaError(Object.assign(new Error('wrapped'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: outOfOrder() }))).toBe(false);
    expect(isTransientKafkaError(new Error('schema registry said 409'))).toBe(false);
  });
});
