// The generated per-layout decoders and JSON formatters (compiled.ts) against the generic field walk they replace
// (readFields + recordToJson, kept as the reference): same keys in the same order, same values, same JSON text —
// on random bytes for every layout, DBN version and ts_out setting, on Databento's fixtures and on dbn-data.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledJsonBytes, maxJsonBytes, u64Decimal, i64At } from './compiled';
import { DbnParser } from './parser';
import { FieldValue, HEADER_LEN, DbnVersion, layoutFor, readFields } from './layout';
import { JsonLinesBuffer, recordJsonAt, recordToJson } from './json';
import { decodeDbnBatches, decodeDbn, dbnFrames } from './decoder';
import { decodeRecord, DbnRecord } from './records';
import { allFixtures, fixture } from './test-fixtures';

const RTYPES = [0x00, 0x01, 0x0a, 0xa0, 0x11, 0x20, 0x24, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];

/** The pre-compiled decoder: header, then readFields, then ts_out. */
function reference(buf: Uint8Array, dv: DataView, base: number, length: number, version: DbnVersion, tsOut: boolean): DbnRecord {
  const rtype = buf[base + 1]!;
  const layout = layoutFor(rtype, version)!;
  const rec = { kind: layout.kind, rtype, publisher_id: dv.getUint16(base + 2, true), instrument_id: dv.getUint32(base + 4, true), ts_event: dv.getBigUint64(base + 8, true) } as Record<string, FieldValue> & { kind: string };
  readFields(layout, buf, dv, base, rec);
  if (tsOut) rec.ts_out = dv.getBigUint64(base + length - 8, true);
  return rec as unknown as DbnRecord;
}

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('64-bit decimal text without BigInt', () => {
  it('matches BigInt for edge values and random ones', () => {
    const rnd = mulberry(7);
    const values: bigint[] = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 10n ** 18n, 1609160400000429831n];
    for (let i = 0; i < 5000; i++) values.push((BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32)));
    const dv = new DataView(new ArrayBuffer(8));
    for (const v of values) {
      expect(u64Decimal(Number(v >> 32n), Number(v & 0xffffffffn))).toBe(v.toString());
      dv.setBigUint64(0, v, true);
      expect(i64At(dv, 0)).toBe(dv.getBigInt64(0, true).toString());
    }
  }, 60_000);
});

describe('compiled decoders and JSON formatters', () => {
  it('write every integer width at its extremes and around powers of ten', () => {
    const layout = layoutFor(0x00, 3)!;
    const buf = new Uint8Array(48);
    const dv = new DataView(buf.buffer);
    buf[0] = 12;
    const prices = [0n, -1n, 99999999n, 100000000n, 9999999999999999n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 123456789012345678n];
    for (let i = 1; i < 16; i++) prices.push(10n ** BigInt(i) - 1n, 10n ** BigInt(i), 10n ** BigInt(i) + 1n, -(10n ** BigInt(i)));
    for (const px of prices) {
      dv.setBigInt64(16, px, true);
      dv.setUint32(24, 0xffffffff, true); // size
      dv.setInt32(40, -0x80000000, true); // ts_in_delta
      dv.setBigUint64(8, 2n ** 64n - 1n - (px < 0n ? -px : px), true);
      const rec = decodeRecord(buf, dv, 0, 48, 3, false, 0);
      const out = new Uint8Array(maxJsonBytes(layout));
      const end = compiledJsonBytes(layout, false)(buf, dv, 0, 48, out, 0);
      expect(Buffer.from(out.subarray(0, end)).toString()).toBe(JSON.stringify(recordToJson(rec)));
    }
  });

  it('agree with the generic field walk on random bytes for every rtype, version and ts_out', () => {
    const rnd = mulberry(42);
    for (const version of [1, 2, 3] as const) {
      for (const rtype of RTYPES) {
        for (const tsOut of [false, true]) {
          const layout = layoutFor(rtype, version)!;
          const length = layout.size + (tsOut ? 8 : 0);
          for (let trial = 0; trial < 40; trial++) {
            const buf = new Uint8Array(length + 8);
            const base = 4;
            // Mostly random bytes; some records zeroed (reserved fields absent, empty strings) or ASCII-only.
            const mode = trial % 4;
            for (let i = 0; i < length; i++) buf[base + i] = mode === 0 ? 0 : mode === 1 ? 32 + Math.floor(rnd() * 95) : Math.floor(rnd() * 256);
            buf[base] = length / 4;
            buf[base + 1] = rtype;
            const dv = new DataView(buf.buffer);
            const want = reference(buf, dv, base, length, version, tsOut);
            const got = decodeRecord(buf, dv, base, length, version, tsOut, 0);
            expect(Object.keys(got)).toEqual(Object.keys(want));
            expect(got).toEqual(want);
            const text = JSON.stringify(recordToJson(want));
            expect(recordJsonAt(buf, dv, base, length, version, tsOut, 0)).toBe(text);
            const out = new Uint8Array(maxJsonBytes(layout) + 7);
            const end = compiledJsonBytes(layout, tsOut)(buf, dv, base, length - (tsOut ? 8 : 0), out, 7);
            expect(Buffer.from(out.subarray(7, end)).toString('utf8')).toBe(text);
            expect(Buffer.from(out.subarray(7, end)).equals(Buffer.from(text, 'utf8'))).toBe(true);
          }
        }
      }
    }
  }, 60_000);

  it('agree on every record of every fixture and of the dbn-data files', async () => {
    const files = [...allFixtures().filter((f) => !f.startsWith('edge/bad') && !f.startsWith('edge/v4') && !f.startsWith('edge/trunc')).map((f) => fixture(f))];
    const dataDir = join(__dirname, '..', '..', '..', 'dbn-data');
    files.push(join(dataDir, 'glbx-mdp3-20260115.mbp-10.dbn.zst'), join(dataDir, 'glbx-mdp3-20260115.trades.dbn.zst'));
    for (const file of files) {
      let n = 0;
      const lines = new JsonLinesBuffer(4096);
      const expected: string[] = [];
      const chunks: Buffer[] = [];
      for await (const { parser } of dbnFrames(file)) {
        for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) {
          const want = reference(parser.buf, parser.dv, b, parser.recordLength, parser.dbnVersion, parser.hasTsOut);
          const got = parser.decodeCurrent(b);
          const wantJson = JSON.stringify(recordToJson(want));
          // Deep equality is slow in jest: every record's JSON (which shows every field) is compared, plus a deep
          // check of the objects for a sample.
          if (JSON.stringify(recordToJson(got)) !== wantJson || n < 200 || n % 97 === 0) expect(got).toEqual(want);
          const json = recordJsonAt(parser.buf, parser.dv, b, parser.recordLength, parser.dbnVersion, parser.hasTsOut, 0);
          if (json !== wantJson) expect(json).toBe(wantJson);
          lines.appendRecord(parser, b);
          expected.push(wantJson);
          n++;
          if (lines.full) chunks.push(lines.take());
        }
      }
      chunks.push(lines.take());
      const all = Buffer.concat(chunks);
      const want = Buffer.from(expected.map((l) => l + '\n').join(''), 'utf8');
      if (!all.equals(want)) expect(all.toString('utf8')).toBe(want.toString('utf8'));
      expect(n).toBeGreaterThan(0);
    }
  }, 120_000);

  it('decodeDbnBatches yields the same records as decodeDbn, then the same error', async () => {
    const bytes = readFileSync(fixture('test_data.mbp-10.dbn'));
    const cut = bytes.subarray(0, bytes.length - 100);
    for (const src of [bytes, cut]) {
      const items: DbnRecord[] = [];
      let errA: unknown;
      try {
        for await (const it of decodeDbn(src)) if (it.type === 'record') items.push(it.record);
      } catch (e) {
        errA = e;
      }
      const batched: DbnRecord[] = [];
      let errB: unknown;
      try {
        for await (const b of decodeDbnBatches(src, { chunkSize: 64 })) batched.push(...b.records);
      } catch (e) {
        errB = e;
      }
      expect(batched).toEqual(items);
      expect(String(errB)).toBe(String(errA));
    }
  });

  it('a parser fed a record header shorter than 16 bytes reports BAD_RECORD at the record offset from nextRecord()', () => {
    const bytes = Buffer.from(readFileSync(fixture('test_data.mbp-10.dbn')));
    bytes[353] = 2;
    const p = new DbnParser();
    p.push(bytes);
    expect(p.next()!.type).toBe('metadata');
    expect(() => p.nextRecord()).toThrow(/BAD_RECORD at byte offset 353/);
    expect(HEADER_LEN).toBe(16);
  });
});
