import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  DEFINITION, DbnError, DbnMetadata, DbnRecord, ERROR, IMBALANCE, Layout, MBO, MBP1, MBP10, OHLCV, STAT, STATUS, SYMBOL_MAPPING, SYSTEM, TRADE,
  TradeMsg, UNDEF_PRICE, decodeDbn, encodeDbn, encodeDbnZstd, encodeRecord, floatToPrice, metadataForVersion, priceToFloat, readDbn,
} from './index';
import { fixture } from './test-fixtures';

async function collect(source: Parameters<typeof readDbn>[0]) {
  return readDbn(source);
}

describe('record layouts', () => {
  it('have the sizes Databento asserts in its layout tests', () => {
    expect([TRADE.size, MBP1.size, MBP10.size, MBO.size, OHLCV.size, STATUS.size, IMBALANCE.size]).toEqual([48, 80, 368, 56, 56, 40, 112]);
    expect([DEFINITION[1].size, DEFINITION[2].size, DEFINITION[3].size]).toEqual([360, 400, 520]);
    expect([STAT[1].size, STAT[2].size, STAT[3].size]).toEqual([64, 64, 80]);
    expect([ERROR[1].size, ERROR[3].size, SYSTEM[1].size, SYSTEM[3].size]).toEqual([80, 320, 80, 320]);
    expect([SYMBOL_MAPPING[1].size, SYMBOL_MAPPING[3].size]).toEqual([80, 176]);
  });

  it('price views: fixed 1e-9 → float, the i64::MAX sentinel → null', () => {
    expect(priceToFloat(3720250000000n)).toBe(3720.25);
    expect(priceToFloat(UNDEF_PRICE)).toBeNull();
    expect(priceToFloat(-1500000000n)).toBe(-1.5);
    expect(floatToPrice(5995.25)).toBe(5995250000000n);
    expect(floatToPrice(null)).toBe(UNDEF_PRICE);
  });
});

describe('truncated and corrupt input', () => {
  const plain = readFileSync(fixture('test_data.mbp-10.dbn'));
  const HEADER = 8 + 345; // prelude + metadata of this v2 file
  const REC = 368;

  it('a copy cut at every byte offset yields exactly the whole records before the cut, then names the offset', async () => {
    const full = await collect(plain);
    for (let cut = 0; cut < plain.length; cut++) {
      const r = await collect(plain.subarray(0, cut));
      const whole = cut < HEADER ? 0 : Math.floor((cut - HEADER) / REC);
      expect(r.records).toEqual(full.records.slice(0, whole));
      const atBoundary = cut >= HEADER && (cut - HEADER) % REC === 0;
      if (atBoundary) {
        expect(r.error).toBeUndefined();
        continue;
      }
      expect(r.error).toBeInstanceOf(DbnError);
      expect(r.error!.code).toBe('TRUNCATED');
      const expectedOffset = cut < 8 ? 0 : cut < HEADER ? 8 : HEADER + whole * REC;
      expect(r.error!.offset).toBe(expectedOffset);
      expect(r.error!.message).toContain(`byte offset ${expectedOffset}`);
    }
  });

  it('a record whose length byte is impossible fails with BAD_RECORD at its offset after the good record', async () => {
    const bad = Buffer.from(plain);
    bad[HEADER + REC] = 2; // 8 bytes: shorter than the 16-byte header
    const r = await collect(bad);
    expect(r.records).toHaveLength(1);
    expect(r.error!.code).toBe('BAD_RECORD');
    expect(r.error!.offset).toBe(HEADER + REC);
  });

  it('a record shorter than its rtype layout fails with BAD_RECORD naming the layout size', async () => {
    const bad = Buffer.from(plain.subarray(0, HEADER + REC + 64));
    bad[HEADER + REC] = 16; // claims 64 bytes for an MBP-10 record
    const r = await collect(bad);
    expect(r.records).toHaveLength(1);
    expect(r.error!.code).toBe('BAD_RECORD');
    expect(r.error!.offset).toBe(HEADER + REC);
    expect(r.error!.message).toContain('needs 368');
  });

  it('a truncated multi-frame zstd file yields the records of its whole frames, then a ZSTD error', async () => {
    const meta = sampleMetadata(3);
    const recs = Array.from({ length: 400 }, (_, i) => trade(i));
    // frames of ~64 records each, as the streaming writer emits them
    const frames: Uint8Array[] = [];
    const plainBytes = encodeDbn(meta, recs);
    const headLen = plainBytes.length - 400 * 48;
    for (let start = 0; start < plainBytes.length; ) {
      const end = start === 0 ? headLen + 64 * 48 : Math.min(plainBytes.length, start + 64 * 48);
      frames.push(await encodeDbnZstdRaw(plainBytes.subarray(start, end)));
      start = end;
    }
    const whole = Buffer.concat(frames);
    const full = await collect(whole);
    expect(full.error).toBeUndefined();
    expect(full.records).toEqual(recs);
    const cutAt = frames[0]!.length + frames[1]!.length + Math.floor(frames[2]!.length / 2);
    const r = await collect(whole.subarray(0, cutAt));
    expect(r.records).toEqual(recs.slice(0, r.records.length));
    expect(r.records.length).toBeGreaterThanOrEqual(128);
    expect(r.records.length).toBeLessThan(192);
    expect(r.error!.code).toBe('ZSTD');
    expect(r.error!.offset).toBe(cutAt);
  });

  it('an empty input is TRUNCATED at offset 0', async () => {
    const r = await collect(new Uint8Array(0));
    expect(r.error!.code).toBe('TRUNCATED');
    expect(r.error!.offset).toBe(0);
  });
});

describe('streaming sources', () => {
  it('one byte at a time, a Node Readable and a file path all decode the same records', async () => {
    const path = fixture('test_data.mbp-10.v3.dbn.zst');
    const bytes = readFileSync(path);
    const byPath = await collect(path);
    async function* oneByte() {
      for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
    }
    const byByte = await collect(oneByte());
    const byReadable = await collect(Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]));
    expect(byPath.records).toHaveLength(2);
    expect(byByte).toEqual(byPath);
    expect(byReadable).toEqual(byPath);
  });

  it('decodeDbn reports each record with its byte offset', async () => {
    const offsets: number[] = [];
    for await (const item of decodeDbn(fixture('test_data.mbp-10.dbn'))) if (item.type === 'record') offsets.push(item.offset);
    expect(offsets).toEqual([353, 353 + 368]);
  });
});

describe('unknown rtypes', () => {
  it('are skipped by their length, kept as raw bytes and re-encoded unchanged', async () => {
    const meta = sampleMetadata(3);
    const raw = new Uint8Array(24);
    raw.set([6, 0x99, 1, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
    const unknown: DbnRecord = { kind: 'unknown', rtype: 0x99, publisher_id: 1, instrument_id: 7, ts_event: 1n, raw };
    const bytes = encodeDbn(meta, [trade(0), unknown, trade(1)]);
    const r = await collect(bytes);
    expect(r.error).toBeUndefined();
    expect(r.records).toEqual([trade(0), unknown, trade(1)]);
    expect(Buffer.from(encodeDbn(r.metadata!, r.records)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('encoder', () => {
  it('writes the same MBP records as DBN v1, v2 and v3, each decoding back to the same records', async () => {
    const { metadata, records } = await collect(fixture('test_data.mbp-10.dbn'));
    for (const v of [1, 2, 3] as const) {
      const r = await collect(encodeDbn(metadataForVersion(metadata!, v), records));
      expect(r.metadata!.version).toBe(v);
      expect(r.records).toEqual(records);
    }
  });

  it('zstd output decodes to the same records', async () => {
    const { metadata, records } = await collect(fixture('test_data.tbbo.dbn'));
    const z = await encodeDbnZstd(metadataForVersion(metadata!, 3), records);
    expect([...z.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect((await collect(z)).records).toEqual(records);
  });

  it('refuses values that cannot be written, naming the field', () => {
    const bad = { ...trade(0), price: 1.5 as unknown as bigint };
    expect(() => encodeRecord(bad)).toThrow(/trade\.price must be a bigint/);
    expect(() => encodeRecord({ ...trade(0), side: 'AB' })).toThrow(/trade\.side must be a one-character string/);
    expect(() => encodeDbn({ ...sampleMetadata(3), dataset: 'X'.repeat(17) }, [])).toThrow(/dataset must be ASCII of at most 16/);
    expect(() => encodeDbn({ ...sampleMetadata(2), ts_out: true }, [trade(0)])).toThrow(/record #0: .*no ts_out/);
  });
});

// ---- property: decode(encode(x)) == x for arbitrary metadata and records of every layout ----

const LAYOUT_RTYPES: [Layout | Record<1 | 2 | 3, Layout>, number[]][] = [
  [TRADE, [0x00]], [MBP1, [0x01]], [MBP10, [0x0a]], [MBO, [0xa0]], [OHLCV, [0x11, 0x20, 0x21, 0x22, 0x23, 0x24]], [STATUS, [0x12]],
  [IMBALANCE, [0x14]], [DEFINITION, [0x13]], [ERROR, [0x15]], [SYMBOL_MAPPING, [0x16]], [SYSTEM, [0x17]], [STAT, [0x18]],
];

const u64 = fc.bigInt(0n, 0xffffffffffffffffn);
const i64 = fc.bigInt(-0x8000000000000000n, 0x7fffffffffffffffn);
const ascii = (max: number) => fc.string({ unit: fc.integer({ min: 1, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: max });
const pair = fc.record({
  bid_px: i64, ask_px: i64, bid_sz: fc.nat(0xffffffff), ask_sz: fc.nat(0xffffffff), bid_ct: fc.nat(0xffffffff), ask_ct: fc.nat(0xffffffff),
});

function fieldsArb(layout: Layout): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of layout.fields) {
    switch (f.kind) {
      case 'u8': parts[f.name] = fc.nat(0xff); break;
      case 'i8': parts[f.name] = fc.integer({ min: -128, max: 127 }); break;
      case 'u16': parts[f.name] = fc.nat(0xffff); break;
      case 'i16': parts[f.name] = fc.integer({ min: -0x8000, max: 0x7fff }); break;
      case 'u32': parts[f.name] = fc.nat(0xffffffff); break;
      case 'i32': parts[f.name] = fc.integer({ min: -0x80000000, max: 0x7fffffff }); break;
      case 'u64': parts[f.name] = u64; break;
      case 'i64': parts[f.name] = i64; break;
      case 'char': parts[f.name] = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)); break;
      case 'cstr': parts[f.name] = ascii(f.n); break;
      case 'pad': break;
      case 'levels': parts[f.name] = fc.array(pair, { minLength: f.n, maxLength: f.n }); break;
    }
  }
  return fc.record(parts);
}

function recordArb(version: 1 | 2 | 3, tsOut: boolean): fc.Arbitrary<DbnRecord> {
  return fc.oneof(
    ...LAYOUT_RTYPES.map(([l, rtypes]) => {
      const layout = 'kind' in l ? (l as Layout) : (l as Record<1 | 2 | 3, Layout>)[version];
      return fc
        .record({
          rtype: fc.constantFrom(...rtypes),
          publisher_id: fc.nat(0xffff),
          instrument_id: fc.nat(0xffffffff),
          ts_event: u64,
          ts_out: u64,
          fields: fieldsArb(layout),
        })
        .map(({ fields, ts_out, ...hd }) => ({ kind: layout.kind, ...hd, ...fields, ...(tsOut ? { ts_out } : {}) }) as unknown as DbnRecord);
    }),
  );
}

const dateArb = fc.record({ y: fc.integer({ min: 1970, max: 2100 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }) })
  .map(({ y, m, d }) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);

function metadataArb(version: 1 | 2 | 3, tsOut: boolean): fc.Arbitrary<DbnMetadata> {
  const L = version === 1 ? 22 : 71;
  return fc.record({
    version: fc.constant(version),
    dataset: ascii(16),
    schema: fc.constantFrom(null, 'mbp-10', 'trades', 'tbbo', 'mbp-1', 'definition'),
    start: u64,
    end: fc.option(fc.bigInt(0n, 0xfffffffffffffffen), { nil: null }),
    limit: fc.option(fc.bigInt(1n, 0xffffffffffffffffn), { nil: null }),
    stype_in: fc.constantFrom(null, 'raw_symbol', 'continuous', 'parent', 'instrument_id'),
    stype_out: fc.constantFrom('instrument_id', 'raw_symbol'),
    ts_out: fc.constant(tsOut),
    symbol_cstr_len: fc.constant(L),
    symbols: fc.array(ascii(L), { maxLength: 4 }),
    partial: fc.array(ascii(L), { maxLength: 2 }),
    not_found: fc.array(ascii(L), { maxLength: 2 }),
    mappings: fc.array(
      fc.record({ raw_symbol: ascii(L), intervals: fc.array(fc.record({ start_date: dateArb, end_date: dateArb, symbol: ascii(L) }), { maxLength: 3 }) }),
      { maxLength: 3 },
    ),
  }) as fc.Arbitrary<DbnMetadata>;
}

const fileArb = fc
  .record({ version: fc.constantFrom(1 as const, 2 as const, 3 as const), tsOut: fc.boolean() })
  .chain(({ version, tsOut }) => fc.record({ metadata: metadataArb(version, tsOut), records: fc.array(recordArb(version, tsOut), { maxLength: 12 }) }));

describe('round trip property', () => {
  it('decode(encode(metadata, records)) == (metadata, records) for every layout, DBN v1-v3, with and without ts_out', async () => {
    await fc.assert(
      fc.asyncProperty(fileArb, fc.integer({ min: 1, max: 97 }), async ({ metadata, records }, chunk) => {
        const bytes = encodeDbn(metadata, records);
        async function* chunks() {
          for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
        }
        const r = await collect(chunks());
        expect(r.error).toBeUndefined();
        expect(r.metadata).toEqual(metadata);
        expect(r.records).toEqual(records);
        // and the bytes are canonical: re-encoding the decoded file gives the same bytes
        expect(Buffer.from(encodeDbn(r.metadata!, r.records)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

// ---- helpers ----

function sampleMetadata(version: 1 | 2 | 3): DbnMetadata {
  return {
    version, dataset: 'GLBX.MDP3', schema: 'trades', start: 1n, end: null, limit: null, stype_in: 'continuous', stype_out: 'instrument_id',
    ts_out: false, symbol_cstr_len: version === 1 ? 22 : 71, symbols: ['ES.c.0'], partial: [], not_found: [],
    mappings: [{ raw_symbol: 'ES.c.0', intervals: [{ start_date: '2026-01-15', end_date: '2026-01-16', symbol: '42140878' }] }],
  };
}

function trade(i: number): TradeMsg {
  return {
    kind: 'trade', rtype: 0, publisher_id: 1, instrument_id: 42140878, ts_event: 1_768_487_400_000_000_000n + BigInt(i) * 1000n,
    price: 6000_000_000_000n + BigInt(i % 8) * 250_000_000n, size: 1 + (i % 7), action: 'T', side: i % 2 ? 'A' : 'B', flags: 0x80, depth: 0,
    ts_recv: 1_768_487_400_000_200_000n + BigInt(i) * 1000n, ts_in_delta: 20000, sequence: 1000 + i,
  };
}

async function encodeDbnZstdRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const { zstdCompress } = await import('./encoder');
  return zstdCompress(bytes);
}
