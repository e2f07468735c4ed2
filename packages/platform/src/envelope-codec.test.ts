import fc from 'fast-check';
import { INPUT_SCHEMAS, defaultConfig, type InputEvent } from '@snap/core';
import {
  CodecError,
  EnvelopeCodec,
  HEADER_SIZE,
  SCHEMA_NAMES,
  SCHEMA_RECORD_NAMES,
  BigIntLongType,
  avroType,
  fromRecord,
  loadLocalSchemas,
  readFrame,
  recordToSignalRow,
  signalRowToRecord,
  subjectFor,
  toRecord,
  type SchemaName,
  type SignalRecord,
} from './envelope-codec';
import { sampleValue } from './envelope-samples';
import { murmur2, partitionForKey, topicDeclarations, topicName } from './topics';

// Nothing here talks to the registry: the URL points at a closed port so an accidental network call fails loudly.
const codec = new EnvelopeCodec({ registryUrl: 'http://127.0.0.1:9' });

/** The wire-record form of a sample (input events carry `schema`, records `schema_name`). */
function wireOf(v: object): Record<string, unknown> {
  const o = v as Record<string, unknown>;
  if ('schema' in o) return toRecord(o as unknown as InputEvent) as unknown as Record<string, unknown>;
  return o;
}

function bodyOf(schemaName: SchemaName, framed: Buffer): unknown {
  const { type } = codec.schemas.get(schemaName)!;
  const r = type.decode(framed, HEADER_SIZE);
  expect(r.offset).toBe(framed.length);
  return r.value;
}

describe('Avro schemas', () => {
  it('loads one schema per dataset with the mapped record fullname', () => {
    const schemas = loadLocalSchemas();
    expect([...schemas.keys()].sort()).toEqual([...SCHEMA_NAMES].sort());
    for (const [name, s] of schemas) expect(s.fullname).toBe(SCHEMA_RECORD_NAMES[name]);
    expect(new Set(Object.values(SCHEMA_RECORD_NAMES)).size).toBe(SCHEMA_NAMES.length);
  });

  // The samples are typed by the core TypeScript types (every field is required there, nullable ones as `T | null`),
  // so equal key sets mean the .avsc mirrors the type field for field.
  it.each(SCHEMA_NAMES)('%s fields mirror the TypeScript type exactly', (schemaName) => {
    const fields = (JSON.parse(codec.schemas.get(schemaName)!.text) as { fields: { name: string }[] }).fields.map((f) => f.name);
    expect(new Set(fields).size).toBe(fields.length);
    expect([...fields].sort()).toEqual(Object.keys(wireOf(sampleValue(schemaName, 0))).sort());
  });

  it('every record carries the §2.1 envelope', () => {
    for (const schemaName of SCHEMA_NAMES) {
      const fields = (JSON.parse(codec.schemas.get(schemaName)!.text) as { fields: { name: string; type: unknown }[] }).fields;
      const byName = new Map(fields.map((f) => [f.name, f.type]));
      for (const f of ['schema_name', 'schema_version', 'source', 'ts_event_ns', 'ts_recv_ns', 'key', 'seq', 'event_id']) expect(byName.has(f)).toBe(true);
      expect(byName.get('ts_event_ns')).toBe('long');
      expect(byName.get('seq')).toEqual(['null', 'long']);
    }
  });

  it('nullable fields are ["null", T] with default null', () => {
    for (const schemaName of SCHEMA_NAMES) {
      for (const f of (JSON.parse(codec.schemas.get(schemaName)!.text) as { fields: { name: string; type: unknown; default?: unknown }[] }).fields) {
        if (Array.isArray(f.type)) {
          expect([f.name, f.type[0]]).toEqual([f.name, 'null']);
          expect([f.name, f.default]).toEqual([f.name, null]);
        }
      }
    }
  });
});

describe('Confluent wire format', () => {
  it.each(SCHEMA_NAMES)('%s: magic byte, big-endian schema id, Avro body that decodes to the same value', (schemaName) => {
    for (const i of [0, 1]) {
      const value = sampleValue(schemaName, i);
      const framed = codec.encodeWithId(0x01020304, schemaName, value);
      expect([...framed.subarray(0, 5)]).toEqual([0x00, 0x01, 0x02, 0x03, 0x04]);
      expect(readFrame(framed)).toEqual({ schemaId: 0x01020304, bodyOffset: 5 });
      expect(bodyOf(schemaName, framed)).toEqual(wireOf(value));
    }
  });

  it('schema id uses all 32 bits unsigned', () => {
    const framed = codec.encodeWithId(0xfffffffe, 'heartbeat.v1', sampleValue('heartbeat.v1'));
    expect(readFrame(framed).schemaId).toBe(0xfffffffe);
  });

  it('grows its scratch buffer for records larger than it', () => {
    const big = { ...sampleValue('stocks.trades.v1'), conditions: Array.from({ length: 50_000 }, (_, k) => k) };
    const framed = codec.encodeWithId(9, 'stocks.trades.v1', big);
    expect(framed.length).toBeGreaterThan(64 * 1024);
    expect((bodyOf('stocks.trades.v1', framed) as { conditions: number[] }).conditions).toEqual(big.conditions);
  });

  it('rejects a buffer without the magic byte, naming byte 0', async () => {
    const json = Buffer.from('{"schema":"stocks.trades.v1"}');
    expect(() => readFrame(json)).toThrow(/byte 0 is 0x7b, expected magic byte 0x00/);
    await expect(codec.decode(json)).rejects.toMatchObject({ name: 'CodecError', code: 'NO_MAGIC_BYTE', offset: 0 });
  });

  it('rejects a buffer shorter than the header', async () => {
    for (const len of [0, 1, 4]) {
      await expect(codec.decode(Buffer.alloc(len))).rejects.toMatchObject({ code: 'TOO_SHORT' });
      expect(() => codec.tryDecodeSync(Buffer.alloc(len))).toThrow(CodecError);
    }
  });

  it('tryDecodeSync defers (undefined) on a schema id it has not seen', () => {
    expect(codec.tryDecodeSync(Buffer.from([0, 0, 0, 0, 42, 0]))).toBeUndefined();
  });
});

describe('64-bit longs are bigint', () => {
  const type = avroType({ type: 'record', name: 'L', fields: [{ name: 'v', type: 'long' }, { name: 'n', type: ['null', 'long'] }] });

  it('round-trips the whole int64 range exactly', () => {
    const edge = [0n, 1n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 1_764_000_000_123_456_789n];
    for (const v of edge) expect(type.fromBuffer(type.toBuffer({ v, n: v }))).toEqual({ v, n: v });
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const back = type.fromBuffer(type.toBuffer({ v, n: null })) as { v: bigint };
        return back.v === v;
      }),
    );
  });

  it("reads every varint as avsc's generic long reader does (value, bytes consumed, truncation), malformed ones too", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Tap } = require('avsc/lib/utils') as { Tap: new (buf: Buffer, pos?: number) => { pos: number; isValid(): boolean } };
    type Read = (tap: unknown) => unknown;
    const fast = (BigIntLongType as unknown as { _read: Read })._read;
    const generic = (Object.getPrototypeOf(BigIntLongType) as { _read: Read })._read;
    expect(fast).not.toBe(generic);
    const same = (bytes: Buffer) => {
      const a = new Tap(bytes);
      const b = new Tap(bytes);
      const va = fast.call(BigIntLongType, a);
      const vb = generic.call(BigIntLongType, b);
      expect(a.isValid()).toBe(b.isValid());
      if (b.isValid()) expect([va, a.pos]).toEqual([vb, b.pos]);
    };
    const long = avroType('"long"');
    for (const v of [0n, 1n, -1n, 63n, -64n, 64n, 2n ** 28n, 2n ** 52n - 1n, 2n ** 53n, -(2n ** 53n), 2n ** 56n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n), 1_764_000_000_123_456_789n]) {
      same(long.toBuffer(v));
      same(long.toBuffer(v).subarray(0, -1)); // truncated
    }
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => same(long.toBuffer(v))));
    // Arbitrary bytes: over-long varints (> 10 bytes, bits past 64) and truncation go through the generic reader.
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 14 }), (bytes) => same(Buffer.from(bytes))), { numRuns: 2000 });
    same(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    same(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
  });

  it('refuses a JS number or an out-of-range bigint for a long, naming the field', () => {
    const ev = sampleValue('stocks.trades.v1');
    const cases: [unknown, string][] = [
      [1_764_000_000_123_456_789, 'ts_event_ns'],
      [2n ** 63n, 'ts_event_ns'],
      ['1764000000123456789', 'ts_event_ns'],
    ];
    for (const [bad, path] of cases) {
      let err: unknown;
      try {
        codec.encodeWithId(1, 'stocks.trades.v1', { ...ev, ts_event_ns: bad } as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      expect(err).toMatchObject({ code: 'INVALID_VALUE', schemaName: 'stocks.trades.v1', path });
    }
  });
});

describe('encode validation', () => {
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e as CodecError;
    }
    throw new Error('expected a CodecError');
  };

  it('names the offending nested path', () => {
    const mbp = sampleValue('futures.mbp10.v1');
    const e = attempt(() => codec.encodeWithId(1, 'futures.mbp10.v1', { ...mbp, bid_px: [1, 2, 3, 'x'] } as never));
    expect(e).toMatchObject({ code: 'INVALID_VALUE', schemaName: 'futures.mbp10.v1', path: 'bid_px.3' });
    expect(e.message).toMatch(/futures\.mbp10\.v1 value at bid_px\.3: "x" is not a valid double/);
  });

  it('refuses an enum symbol outside the schema and a non-int size', () => {
    expect(attempt(() => codec.encodeWithId(1, 'options.trades.v1', { ...sampleValue('options.trades.v1'), right: 'X' } as never))).toMatchObject({ path: 'right' });
    expect(attempt(() => codec.encodeWithId(1, 'stocks.trades.v1', { ...sampleValue('stocks.trades.v1'), size: 1.5 }))).toMatchObject({ path: 'size' });
    expect(attempt(() => codec.encodeWithId(1, 'stocks.trades.v1', { ...sampleValue('stocks.trades.v1'), source: 'nasdaq' } as never))).toMatchObject({ path: 'source' });
  });

  it('refuses a missing required field', () => {
    const { symbol: _omit, ...rest } = sampleValue('stocks.trades.v1') as unknown as Record<string, unknown>;
    expect(attempt(() => codec.encodeWithId(1, 'stocks.trades.v1', rest))).toMatchObject({ code: 'INVALID_VALUE', path: 'symbol' });
  });

  it('refuses a value whose declared schema is another one', () => {
    expect(attempt(() => codec.encodeWithId(1, 'stocks.trades.v1', sampleValue('stocks.quotes.v1') as never))).toMatchObject({ code: 'SCHEMA_MISMATCH', path: 'schema' });
  });
});

describe('record ⇄ core event helpers', () => {
  it.each(INPUT_SCHEMAS)('%s: toRecord then fromRecord is the identity', (schemaName) => {
    const ev = sampleValue(schemaName, 2) as InputEvent;
    const rec = toRecord(ev) as unknown as Record<string, unknown>;
    expect(rec.schema_name).toBe(schemaName);
    expect('schema' in rec).toBe(false);
    expect(fromRecord(schemaName, rec)).toEqual(ev);
  });

  it.each(INPUT_SCHEMAS)('%s: decodeEvent builds exactly the object fromRecord builds, key for key', async (schemaName) => {
    // A registry stand-in: one id per subject, no network.
    const c = new EnvelopeCodec({ registryUrl: 'http://127.0.0.1:9' });
    jest.spyOn(c.registry, 'register').mockResolvedValue(41);
    jest.spyOn(c.registry, 'setCompatibility').mockResolvedValue();
    const topic = 'decode-event-test';
    await c.register(topic, schemaName);
    for (const i of [0, 1, 2]) {
      const ev = sampleValue(schemaName, i) as InputEvent;
      const buf = c.encodeSync(topic, schemaName as never, ev as never);
      const got = await c.decodeEvent(buf);
      const { type } = c.schemas.get(schemaName)!;
      const want = fromRecord(schemaName, type.decode(buf, HEADER_SIZE).value as Record<string, unknown>);
      expect(got).toEqual(want);
      expect(Object.keys(got)).toEqual(Object.keys(want));
      expect(got).toEqual(ev);
      // The processor's promise-free path: the same object once the schema id is known, undefined before.
      const sync = c.tryDecodeEventSync(buf)!;
      expect([sync, Object.keys(sync)]).toEqual([want, Object.keys(want)]);
    }
    const unknownId = Buffer.from(c.encodeSync(topic, schemaName as never, sampleValue(schemaName, 0) as never));
    unknownId.writeUInt32BE(9999, 1);
    expect(c.tryDecodeEventSync(unknownId)).toBeUndefined();
  });

  it('fromRecord refuses a schema_name that disagrees with the record identity', () => {
    expect(() => fromRecord('stocks.trades.v1', { schema_name: 'stocks.quotes.v1' })).toThrow(/carries schema_name "stocks.quotes.v1"/);
  });

  it('signals: SignalRow → record → SignalRow', () => {
    const rec = sampleValue('levels.signals.v1', 0) as SignalRecord;
    const row = recordToSignalRow(rec);
    expect('schema_name' in row || 'event_id' in row).toBe(false);
    const again = signalRowToRecord(row, { source: 'replay', ts_recv_ns: rec.ts_recv_ns, seq: rec.seq, event_id: rec.event_id });
    expect(again).toEqual(rec);
    expect(signalRowToRecord(row, { source: 'sim', ts_recv_ns: 0n }).event_id).toBe(`SPY:${row.ts_event_ns}:${row.level_id}`);
  });

  it('subjects follow TopicRecordNameStrategy', () => {
    expect(subjectFor('t1.stocks.trades.v1', 'heartbeat.v1')).toBe('t1.stocks.trades.v1-snap.v1.Heartbeat');
  });
});

describe('partitioner (Java murmur2)', () => {
  it('matches the values in Kafka’s own Utils test', () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [k, h] of cases) expect([k, murmur2(k)]).toEqual([k, h]);
  });

  it('agrees with kafkajs’s DefaultPartitioner hash on arbitrary keys', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (k: string | Buffer) => number;
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (k) => murmur2(k) === kafkajsMurmur2(k)));
    for (const n of [1, 3, 6, 12]) expect(partitionForKey('SPY', n)).toBe((kafkajsMurmur2('SPY') & 0x7fffffff) % n);
  });
});

describe('topic declarations', () => {
  it('co-partitions inputs, signals and changelog; applies the prefix; compacts the changelog', () => {
    const cfg = defaultConfig();
    cfg.kafka.topic_prefix = 'dev1.';
    cfg.kafka.partitions = 12;
    const decls = topicDeclarations(cfg);
    const names = decls.map((d) => topicName(cfg, d.base));
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n.startsWith('dev1.'))).toBe(true);
    for (const s of INPUT_SCHEMAS.filter((s) => s !== 'heartbeat.v1')) expect(decls.some((d) => d.base === s && d.role === 'input')).toBe(true);
    const coPartitioned = decls.filter((d) => d.role !== 'deadletter');
    expect(new Set(coPartitioned.map((d) => d.partitions))).toEqual(new Set([12]));
    expect(decls.find((d) => d.role === 'changelog')!.configs['cleanup.policy']).toBe('compact');
    expect(decls.find((d) => d.role === 'signals')!.base).toBe('levels.signals.v1');
    expect(decls.find((d) => d.role === 'deadletter')!.base).toBe('snap.deadletter.v1');
  });
});
