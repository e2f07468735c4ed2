// §2.5 idempotency key: a vendor id when one exists, else a hash of the identifying fields.
// FNV-1a 64-bit keeps the core free of node:crypto and is stable across platforms; collisions only matter
// within the Silver dedup window, where (source, ts, symbol, price, size, exchange, seq) already nearly identify a record.
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

export function fnv1a64(text: string): string {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * FNV_PRIME) & MASK;
  }
  return h.toString(16).padStart(16, '0');
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
