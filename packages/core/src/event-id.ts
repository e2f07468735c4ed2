// §2.5 idempotency key: a vendor id when one exists, else a hash of the identifying fields.
// FNV-1a 64-bit keeps the core free of node:crypto and is stable across platforms; collisions only matter
// within the Silver dedup window, where (source, ts, symbol, price, size, exchange, seq) already nearly identify a record.
/** Two hex digits of each byte value (the hash is written as 16 of them). */
const HEX2: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * FNV-1a 64 of the string's UTF-16 code units, as 16 lower-case hex digits. The 64-bit state is four 16-bit limbs
 * in int32 arithmetic: the prime is 2^40 + 0x1b3, so h·prime mod 2^64 is h·0x1b3 plus h shifted left by 40 bits, and
 * every partial sum stays below 2^27. The same digits as BigInt arithmetic, which allocated two BigInts per code unit
 * (a fifth of the simulator's time, and the largest part of the DBN mapping: event-id.test.ts holds the two equal).
 */
export function fnv1a64(text: string): string {
  // FNV offset basis 0xcbf29ce484222325, least significant limb first.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i); // a code unit is below 2^16: it only touches the lowest limb
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return HEX2[h3 >>> 8]! + HEX2[h3 & 0xff]! + HEX2[h2 >>> 8]! + HEX2[h2 & 0xff]! + HEX2[h1 >>> 8]! + HEX2[h1 & 0xff]! + HEX2[h0 >>> 8]! + HEX2[h0 & 0xff]!;
}

export function makeEventId(parts: {
  source: string;
  ts_event_ns: bigint;
  symbol: string;
  price?: number | null;
  size?: number | null;
  exchange?: number | string | null;
  seq?: bigint | number | null;
  vendor_id?: string | null;
}): string {
  if (parts.vendor_id) return `${parts.source}:${parts.vendor_id}`;
  return fnv1a64([parts.source, parts.ts_event_ns, parts.symbol, parts.price ?? '', parts.size ?? '', parts.exchange ?? '', parts.seq ?? ''].join('|'));
}
