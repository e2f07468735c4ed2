import { decodeState, encodeState, StateCodecError, type JsonValue } from './state-codec';

describe('state codec', () => {
  it('round-trips bigints, non-finite numbers and nested plain state through JSON text', () => {
    const state = { t: 1_733_000_000_123_456_789n, xs: [1.5, -0, NaN, Infinity, -Infinity, null], nested: { a: [{ b: -42n }], s: 'x', f: false } };
    const back = decodeState(JSON.parse(JSON.stringify(encodeState(state))) as JsonValue) as typeof state;
    expect(back.t).toBe(state.t);
    expect(back.xs.slice(0, 2)).toEqual([1.5, 0]); // -0 comes back as 0, as through any JSON
    expect(back.xs[2]).toBeNaN();
    expect(back.xs.slice(3)).toEqual([Infinity, -Infinity, null]);
    expect(back.nested).toEqual(state.nested);
  });

  it('drops undefined fields and encodes undefined elements as null, as JSON does', () => {
    expect(encodeState({ a: undefined, b: [undefined, 1] })).toEqual({ b: [null, 1] });
  });

  it('names the path of what it cannot encode', () => {
    expect(() => encodeState({ perLevel: { '680': { flows: [0, 1, new Map()] } } })).toThrow(new StateCodecError('Map/Set is not plain state', '$.perLevel.680.flows[2]'));
    expect(() => encodeState([() => 1])).toThrow('cannot encode function at $[0]');
  });

  it('names the path of a bad tagged value when decoding', () => {
    expect(() => decodeState({ a: [{ $bigint: '12x' }] })).toThrow(new StateCodecError('bad $bigint', '$.a[0]'));
    expect(() => decodeState({ $number: 'nope' })).toThrow('bad $number at $');
  });
});
