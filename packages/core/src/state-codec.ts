// Plain-JSON encoding of engine state for snapshots (the processor's changelog): bigints become {"$bigint": "<decimal>"}
// and non-finite numbers {"$number": "NaN" | "Infinity" | "-Infinity"}; everything else is already JSON. Finite
// doubles round-trip exactly through JSON text in JavaScript, so a restored engine continues byte-identically — all
// but -0, which JSON writes as 0 (payloads print both as 0; the processor restore tests guard the rest).
//
// The path in an error ("$.perLevel.680[3]") is built only when something fails: the walk passes no path down and a
// failure collects its segments on the way back up. Building a path string for every element visited cost more than
// the encoding itself (a snapshot of a busy session's windows visits millions of values).

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/**
 * A part of a snapshot written out after it was captured (SnapEngine.capture): JSON.stringify resolves it through
 * toJSON; a writer that yields between steps runs build() instead, whose steps each do a bounded share of the work and
 * whose result is the same value, plain JSON the writer then writes in slices like the rest.
 */
export interface SlicedJson {
  toJSON(): JsonValue;
  build(): Generator<void, JsonValue>;
}

/** build() run to its end at once (toJSON). */
export function builtAtOnce(x: SlicedJson): JsonValue {
  const steps = x.build();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export class StateCodecError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path}`);
    this.name = 'StateCodecError';
  }
}

/** A failure on its way up the walk: the reason, and the path segments seen so far (innermost first). */
class Failure {
  readonly segments: string[] = [];
  constructor(readonly reason: string) {}
}

const within = (e: unknown, segment: string): unknown => {
  if (e instanceof Failure) e.segments.push(segment);
  return e;
};

const surface = (e: unknown): unknown => (e instanceof Failure ? new StateCodecError(e.reason, '$' + e.segments.reverse().join('')) : e);

export function encodeState(v: unknown): JsonValue {
  try {
    return encodeValue(v);
  } catch (e) {
    throw surface(e);
  }
}

function encodeValue(v: unknown): JsonValue {
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
      if (Array.isArray(v)) {
        // A column of finite numbers (the L1 flow window's, the tape's) is already JSON: one scan and a copy instead
        // of a call and a store per element (a busy window holds ~1.5M such numbers, and the live processor
        // captures them synchronously). Copied, never shared: the snapshot is written out while the engine moves on.
        if (finiteNumbers(v)) return v.slice() as number[];
        const out: JsonValue[] = new Array<JsonValue>(v.length);
        for (let i = 0; i < v.length; i++) {
          try {
            out[i] = encodeValue(v[i]);
          } catch (e) {
            throw within(e, `[${i}]`);
          }
        }
        return out;
      }
      if (v instanceof Map || v instanceof Set) throw new Failure('Map/Set is not plain state');
      const out: { [k: string]: JsonValue } = {};
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const x = o[k];
        if (x === undefined) continue;
        try {
          out[k] = encodeValue(x);
        } catch (e) {
          throw within(e, `.${k}`);
        }
      }
      return out;
    }
    default:
      throw new Failure(`cannot encode ${typeof v}`);
  }
}

function finiteNumbers(a: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !(x - x === 0)) return false;
  }
  return true;
}

/**
 * encodeState of a value built for the snapshot alone and handed over (nothing else holds it): an array of finite
 * numbers is already JSON and is used as it is, not copied (a capture's columns: ~250k numbers each at 50k events/s).
 */
export function encodeHandedOver(v: unknown): JsonValue {
  return Array.isArray(v) && finiteNumbers(v) ? (v as number[]) : encodeState(v);
}

export function decodeState(v: JsonValue): unknown {
  try {
    return decodeValue(v);
  } catch (e) {
    throw surface(e);
  }
}

function decodeValue(v: JsonValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      try {
        out[i] = decodeValue(v[i]!);
      } catch (e) {
        throw within(e, `[${i}]`);
      }
    }
    return out;
  }
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === '$bigint') {
    const s = v.$bigint;
    if (typeof s !== 'string' || !/^-?\d+$/.test(s)) throw new Failure('bad $bigint');
    return BigInt(s);
  }
  if (keys.length === 1 && keys[0] === '$number') {
    const s = v.$number;
    if (s === 'NaN') return NaN;
    if (s === 'Infinity') return Infinity;
    if (s === '-Infinity') return -Infinity;
    throw new Failure('bad $number');
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    try {
      out[k] = decodeValue(v[k]!);
    } catch (e) {
      throw within(e, `.${k}`);
    }
  }
  return out;
}
