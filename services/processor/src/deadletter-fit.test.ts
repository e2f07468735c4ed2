import { createHash } from 'node:crypto';
import type { DeadLetterRecord } from '@snap/platform';
import { fitDeadLetter } from './processor';

const dl = (rawBytes: number, reason = 'DECODE_FAILED: cannot decode'): DeadLetterRecord => ({
  schema_name: 'deadletter.v1',
  schema_version: 1,
  source: 'processor',
  ts_event_ns: 1n,
  ts_recv_ns: 2n,
  key: 'SPY',
  seq: null,
  event_id: 't:0:42',
  reason,
  error_class: 'CodecError',
  error_path: null,
  source_topic: 'stocks.quotes.v1',
  source_partition: 0,
  source_offset: 42n,
  raw: Buffer.alloc(rawBytes, 7),
  ts_deadletter_ns: 3n,
});
// Stand-in for the Avro size: every field's bytes plus a fixed envelope.
const size = (d: DeadLetterRecord) => 300 + Buffer.byteLength(d.reason) + d.raw.length + Buffer.byteLength(d.source_topic ?? "") + Buffer.byteLength(d.event_id);

describe('fitDeadLetter: no dead letter is larger than the broker accepts', () => {
  const MAX = 1_048_588;
  it('leaves a small dead letter untouched', () => {
    const d = dl(1000);
    expect(fitDeadLetter(d, MAX, size)).toBe(d);
  });

  it.each([MAX - 230, MAX, MAX + 5000, 3 * MAX])('truncates a %d-byte original with its length and sha256, keeping where it came from', (n) => {
    const d = dl(n);
    const f = fitDeadLetter(d, MAX, size);
    expect(size(f)).toBeLessThanOrEqual(MAX - 1024);
    expect(f.raw.length).toBeGreaterThan(MAX / 2);
    expect(d.raw.subarray(0, f.raw.length).equals(f.raw)).toBe(true);
    expect(f.reason).toContain(`raw truncated from ${n} to ${f.raw.length} bytes`);
    expect(f.reason).toContain(createHash('sha256').update(d.raw).digest('hex'));
    expect(f).toMatchObject({ source_topic: d.source_topic, source_partition: 0, source_offset: 42n, error_class: 'CodecError' });
  });

  it('caps a huge reason', () => {
    const f = fitDeadLetter(dl(10, 'x'.repeat(100_000)), MAX, size);
    expect(f.reason.length).toBeLessThan(2100);
  });
});
