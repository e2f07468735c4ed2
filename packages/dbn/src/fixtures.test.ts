// The decoder against every one of Databento's real DBN sample files. Expected values were obtained independently
// by decoding the same files with Databento's official decoder (PyPI `databento-dbn` 0.72.0, DBNDecoder with
// upgrade_policy AS_IS) — they are not read back from this codec.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { decompress } from 'fzstd';
import { DbnError, DbnMetadata, DbnRecord, Mbp10Msg, Mbp1Msg, TradeMsg, encodeDbn, openDbn, readDbn, UNDEF_TIMESTAMP } from './index';
import { allFixtures, fixture } from './test-fixtures';

const SCHEMAS = ['mbp-1', 'mbp-10', 'tbbo', 'trades'] as const;
const COPIES = ['.dbn', '.v1.dbn.zst', '.v2.dbn.zst', '.v3.dbn.zst'] as const;
const VERSION_OF: Record<(typeof COPIES)[number], number> = { '.dbn': 2, '.v1.dbn.zst': 1, '.v2.dbn.zst': 2, '.v3.dbn.zst': 3 };

/** Fields common to MBP-1/MBP-10/TBBO/trades records. */
type Core = Pick<TradeMsg, 'rtype' | 'publisher_id' | 'instrument_id' | 'ts_event' | 'ts_recv' | 'action' | 'side' | 'flags' | 'depth' | 'price' | 'size' | 'sequence' | 'ts_in_delta'>;

const TRADE_1: Core = {
  rtype: 0, publisher_id: 1, instrument_id: 5482, ts_event: 1609160400098821953n, ts_recv: 1609160400099150057n, action: 'T', side: 'A',
  flags: 129, depth: 0, price: 3720250000000n, size: 5, sequence: 1170380, ts_in_delta: 19251,
};
const TRADE_2: Core = {
  rtype: 0, publisher_id: 1, instrument_id: 5482, ts_event: 1609160400107665963n, ts_recv: 1609160400108142648n, action: 'T', side: 'A',
  flags: 129, depth: 0, price: 3720250000000n, size: 21, sequence: 1170414, ts_in_delta: 20728,
};

const EXPECTED: Record<(typeof SCHEMAS)[number], { first: Core & { l0?: object; l1?: object; l9?: object }; last: Core & { l0?: object; l1?: object; l9?: object } }> = {
  'mbp-10': {
    first: {
      rtype: 10, publisher_id: 1, instrument_id: 5482, ts_event: 1609160400000429831n, ts_recv: 1609160400000704060n, action: 'C', side: 'A',
      flags: 128, depth: 9, price: 3722750000000n, size: 1, sequence: 1170352, ts_in_delta: 22993,
      l0: { bid_px: 3720250000000n, ask_px: 3720500000000n, bid_sz: 24, ask_sz: 10, bid_ct: 15, ask_ct: 8 },
      l1: { bid_px: 3720000000000n, ask_px: 3720750000000n, bid_sz: 31, ask_sz: 34, bid_ct: 18, ask_ct: 24 },
      l9: { bid_px: 3718000000000n, ask_px: 3722750000000n, bid_sz: 67, ask_sz: 44, bid_ct: 39, ask_ct: 26 },
    },
    last: {
      rtype: 10, publisher_id: 1, instrument_id: 5482, ts_event: 1609160400000435673n, ts_recv: 1609160400000750544n, action: 'C', side: 'B',
      flags: 128, depth: 1, price: 3720000000000n, size: 1, sequence: 1170356, ts_in_delta: 20625,
      l0: { bid_px: 3720250000000n, ask_px: 3720500000000n, bid_sz: 24, ask_sz: 10, bid_ct: 15, ask_ct: 8 },
      // the cancel of 1 lot at depth 1 on the bid: 31 → 30 lots, 18 → 17 orders
      l1: { bid_px: 3720000000000n, ask_px: 3720750000000n, bid_sz: 30, ask_sz: 34, bid_ct: 17, ask_ct: 24 },
      l9: { bid_px: 3718000000000n, ask_px: 3722750000000n, bid_sz: 67, ask_sz: 44, bid_ct: 39, ask_ct: 26 },
    },
  },
  'mbp-1': {
    first: {
      rtype: 1, publisher_id: 1, instrument_id: 5482, ts_event: 1609160400006001487n, ts_recv: 1609160400006136329n, action: 'A', side: 'A',
      flags: 128, depth: 0, price: 3720500000000n, size: 1, sequence: 1170362, ts_in_delta: 17214,
      l0: { bid_px: 3720250000000n, ask_px: 3720500000000n, bid_sz: 24, ask_sz: 11, bid_ct: 15, ask_ct: 9 },
    },
    last: {
      rtype: 1, publisher_id: 1, instrument_id: 5482, ts_event: 1609160400006146661n, ts_recv: 1609160400006246513n, action: 'A', side: 'A',
      flags: 128, depth: 0, price: 3720500000000n, size: 1, sequence: 1170364, ts_in_delta: 18858,
      l0: { bid_px: 3720250000000n, ask_px: 3720500000000n, bid_sz: 24, ask_sz: 12, bid_ct: 15, ask_ct: 10 },
    },
  },
  tbbo: {
    first: { ...TRADE_1, rtype: 1, l0: { bid_px: 3720250000000n, ask_px: 3720500000000n, bid_sz: 26, ask_sz: 7, bid_ct: 16, ask_ct: 6 } },
    last: { ...TRADE_2, rtype: 1, l0: { bid_px: 3720250000000n, ask_px: 3720500000000n, bid_sz: 21, ask_sz: 22, bid_ct: 13, ask_ct: 15 } },
  },
  trades: { first: TRADE_1, last: TRADE_2 },
};

function core(r: DbnRecord): Core {
  const t = r as TradeMsg;
  return {
    rtype: t.rtype, publisher_id: t.publisher_id, instrument_id: t.instrument_id, ts_event: t.ts_event, ts_recv: t.ts_recv, action: t.action,
    side: t.side, flags: t.flags, depth: t.depth, price: t.price, size: t.size, sequence: t.sequence, ts_in_delta: t.ts_in_delta,
  };
}

function expectRecord(r: DbnRecord, exp: Core & { l0?: object; l1?: object; l9?: object }) {
  const { l0, l1, l9, ...fields } = exp;
  expect(core(r)).toEqual(fields);
  if (l0) expect((r as Mbp1Msg).levels[0]).toEqual(l0);
  if (l1) expect((r as Mbp10Msg).levels[1]).toEqual(l1);
  if (l9) expect((r as Mbp10Msg).levels[9]).toEqual(l9);
  if (r.kind === 'mbp1') expect(r.levels).toHaveLength(1);
  if (r.kind === 'mbp10') expect(r.levels).toHaveLength(10);
}

function metadataFor(schema: string, version: number): DbnMetadata {
  return {
    version: version as 1 | 2 | 3,
    dataset: 'GLBX.MDP3',
    schema: schema as DbnMetadata['schema'],
    start: 1609160400000000000n,
    end: 1609200000000000000n,
    limit: 2n,
    stype_in: 'raw_symbol',
    stype_out: 'instrument_id',
    ts_out: false,
    symbol_cstr_len: version === 1 ? 22 : 71,
    symbols: ['ESH1'],
    partial: [],
    not_found: [],
    mappings: [{ raw_symbol: 'ESH1', intervals: [{ start_date: '2020-12-28', end_date: '2020-12-29', symbol: '5482' }] }],
  };
}

/** The decompressed DBN bytes of a fixture (zstd via the system zstd CLI when present, else fzstd). */
function dbnBytes(path: string): Buffer {
  const raw = readFileSync(path);
  if (!path.endsWith('.zst')) return raw;
  try {
    return execFileSync('zstd', ['-dc', path], { maxBuffer: 1 << 24 });
  } catch {
    return Buffer.from(decompress(raw));
  }
}

describe('every fixture file is covered', () => {
  it('the fixture set is the one these tests know', () => {
    const known = [...SCHEMAS.flatMap((s) => COPIES.map((c) => `test_data.${s}${c}`)), 'edge/bad.dbn', 'edge/trunc.dbn', 'edge/tsout.dbn', 'edge/v4.dbn'].sort();
    expect(allFixtures()).toEqual(known);
  });
});

describe.each(SCHEMAS)('schema %s', (schema) => {
  describe.each(COPIES)('copy %s', (copy) => {
    const name = `test_data.${schema}${copy}`;
    it('decodes metadata, 2 records, first and last as Databento decodes them', async () => {
      const r = await readDbn(fixture(name));
      expect(r.error).toBeUndefined();
      expect(r.metadata).toEqual(metadataFor(schema, VERSION_OF[copy]));
      expect(r.records).toHaveLength(2);
      const kind = { 'mbp-1': 'mbp1', tbbo: 'mbp1', 'mbp-10': 'mbp10', trades: 'trade' }[schema];
      for (const rec of r.records) expect(rec.kind).toBe(kind);
      expectRecord(r.records[0]!, EXPECTED[schema].first);
      expectRecord(r.records[1]!, EXPECTED[schema].last);
      expect(r.records[0]!.ts_out).toBeUndefined();
    });

    it('re-encodes byte for byte (same DBN version as the file)', async () => {
      const r = await readDbn(fixture(name));
      const bytes = dbnBytes(fixture(name));
      expect(Buffer.from(encodeDbn(r.metadata!, r.records)).equals(bytes)).toBe(true);
    });
  });

  it('the v1, v2, v3 and plain copies hold identical records; zstd and plain agree', async () => {
    const decoded = await Promise.all(COPIES.map((c) => readDbn(fixture(`test_data.${schema}${c}`))));
    for (const d of decoded.slice(1)) expect(d.records).toEqual(decoded[0]!.records);
    // Only symbol_cstr_len and version differ across versions in these files' metadata.
    const strip = (m: DbnMetadata) => ({ ...m, version: 0, symbol_cstr_len: 0 });
    for (const d of decoded.slice(1)) expect(strip(d.metadata!)).toEqual(strip(decoded[0]!.metadata!));
  });
});

describe('edge fixtures', () => {
  it('bad.dbn (3 junk bytes before a valid header) fails at offset 0 with BAD_HEADER and no records', async () => {
    const r = await readDbn(fixture('edge/bad.dbn'));
    expect(r.metadata).toBeUndefined();
    expect(r.records).toHaveLength(0);
    expect(r.error).toBeInstanceOf(DbnError);
    expect(r.error!.code).toBe('BAD_HEADER');
    expect(r.error!.offset).toBe(0);
    expect(r.error!.message).toContain('bad.dbn');
  });

  it('v4.dbn (version byte 4) fails with UNSUPPORTED_VERSION naming the version byte offset', async () => {
    const r = await readDbn(fixture('edge/v4.dbn'));
    expect(r.records).toHaveLength(0);
    expect(r.error!.code).toBe('UNSUPPORTED_VERSION');
    expect(r.error!.offset).toBe(3);
    expect(r.error!.message).toMatch(/version 4 is not supported/);
  });

  it('trunc.dbn (MBP-10 v2 cut inside the 2nd record) yields record 1, then TRUNCATED at the 2nd record offset', async () => {
    const stream = await openDbn(fixture('edge/trunc.dbn'));
    expect(stream.metadata.schema).toBe('mbp-10');
    const got: DbnRecord[] = [];
    let err: unknown;
    try {
      for await (const r of stream.records) got.push(r);
    } catch (e) {
      err = e;
    }
    expect(got).toHaveLength(1);
    expectRecord(got[0]!, EXPECTED['mbp-10'].first);
    expect(err).toBeInstanceOf(DbnError);
    // 8-byte prelude + 345-byte metadata + one 368-byte record = 721; 1000 - 721 = 279 bytes of the 2nd record remain.
    expect((err as DbnError).code).toBe('TRUNCATED');
    expect((err as DbnError).offset).toBe(721);
    expect((err as DbnError).message).toContain('needs 368 bytes, 279 remain');
  });

  it('tsout.dbn (v3 trades with ts_out) decodes the 8-byte send timestamps after each record', async () => {
    const r = await readDbn(fixture('edge/tsout.dbn'));
    expect(r.error).toBeUndefined();
    expect(r.metadata!.ts_out).toBe(true);
    expect(r.metadata!.version).toBe(3);
    expect(r.records).toHaveLength(2);
    expectRecord(r.records[0]!, TRADE_1);
    expectRecord(r.records[1]!, TRADE_2);
    expect(r.records.map((x) => x.ts_out)).toEqual([1609160400200000000n, 1609160400200000001n]);
    expect(r.records[0]!.ts_out).not.toBe(UNDEF_TIMESTAMP);
    expect(Buffer.from(encodeDbn(r.metadata!, r.records)).equals(readFileSync(fixture('edge/tsout.dbn')))).toBe(true);
  });
});
