// levels.events.v1: the discrete BREAK/REJECT record (issue 9) — its Avro schema, the core ↔ wire mapping and its
// topic declaration (co-partitioned with the signals, Avro value registered like the others).
import { defaultConfig, type LevelEvent } from '@snap/core';
import { levelEventToRecord, loadLocalSchemas, recordToLevelEvent, SCHEMA_RECORD_NAMES } from './envelope-codec';
import { EVENTS_TOPIC, SIGNALS_TOPIC, topicDeclarations } from './topics';

const ev: LevelEvent = {
  event_id: 'a1b2c3d4e5f60718',
  ts_event_ns: '1766415600250000000',
  underlying: 'SPY',
  level_id: 'ROUND_681',
  level_kind: 'ROUND',
  level_price: 681,
  direction: 'RESISTANCE',
  signal: 'BREAK',
  break_score: 83.5,
  confidence: 'HIGH',
  lead: 'TAPE',
  reason: 'sweep UP through a consumed wall',
  spot: 680.97,
};

describe('levels.events.v1', () => {
  const schema = loadLocalSchemas().get('levels.events.v1')!;

  it('has its own record name and round-trips a core LevelEvent through Avro bytes', () => {
    expect(schema.fullname).toBe(SCHEMA_RECORD_NAMES['levels.events.v1']);
    const rec = levelEventToRecord(ev, { source: 'sim' });
    expect(rec).toMatchObject({ schema_name: 'levels.events.v1', schema_version: 1, key: 'SPY', seq: null, ts_event_ns: 1766415600250000000n, ts_recv_ns: 1766415600250000000n });
    const back = schema.type.fromBuffer(schema.type.toBuffer(rec)) as Parameters<typeof recordToLevelEvent>[0];
    expect(recordToLevelEvent(back)).toEqual(ev);
  });

  it('refuses a value outside the enums (a CONTESTED is never an event)', () => {
    expect(schema.type.isValid(levelEventToRecord({ ...ev, signal: 'CONTESTED' as 'BREAK' }, { source: 'sim' }))).toBe(false);
    expect(schema.type.isValid(levelEventToRecord(ev, { source: 'sim' }))).toBe(true);
  });

  it('is a declared topic, co-partitioned with the signals, with the Avro value registered', () => {
    const decls = topicDeclarations(defaultConfig());
    const events = decls.find((d) => d.base === EVENTS_TOPIC)!;
    const signals = decls.find((d) => d.base === SIGNALS_TOPIC)!;
    expect(events).toMatchObject({ role: 'events', valueSchemas: ['levels.events.v1'], partitions: signals.partitions });
    expect(events.configs).toEqual(signals.configs);
  });
});
