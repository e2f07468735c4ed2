// Plain-JSON encoding of engine state for snapshots (the processor's changelog): bigints become {"$bigint": "<decimal>"}
// and non-finite numbers {"$number": "NaN" | "Infinity" | "-Infinity"}; everything else is already JSON. Finite
// doubles round-trip exactly through JSON text in JavaScript, so a restored engine continues byte-identically.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export class StateCodecError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path}`);
    this.name = 'StateCodecError';
  }
}

export function encodeState(v: unknown, path = '$'): JsonValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint':
      return { $bigint: v.toString() };
    case 'number':
      return Number.isFinite(v) ? v : { $number: String(v) };
    case 'string':
    case 'boolean':
      return v;
    case 'object': {
      if (Array.isArray(v)) return v.map((x, i) => encodeState(x, `${path}[${i}]`));
      if (v instanceof Map || v instanceof Set) throw new StateCodecError('Map/Set is not plain state', path);
      const out: { [k: string]: JsonValue } = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x === undefined) continue;
        out[k] = encodeState(x, `${path}.${k}`);
      }
      return out;
    }
    default:
      throw new StateCodecError(`cannot encode ${typeof v}`, path);
  }
}

export function decodeState(v: JsonValue, path = '$'): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x, i) => decodeState(x, `${path}[${i}]`));
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === '$bigint') {
    const s = v.$bigint;
    if (typeof s !== 'string' || !/^-?\d+$/.test(s)) throw new StateCodecError('bad $bigint', path);
    return BigInt(s);
  }
  if (keys.length === 1 && keys[0] === '$number') {
    const s = v.$number;
    if (s === 'NaN') return NaN;
    if (s === 'Infinity') return Infinity;
    if (s === '-Infinity') return -Infinity;
    throw new StateCodecError('bad $number', path);
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = decodeState(v[k]!, `${path}.${k}`);
  return out;
}
