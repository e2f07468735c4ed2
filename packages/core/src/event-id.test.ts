import { fnv1a64, makeEventId } from './event-id';

/** FNV-1a 64 as the specification writes it, in BigInt arithmetic (what fnv1a64 computed before its limbs). */
function reference(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

describe('fnv1a64', () => {
  it('gives the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('equals the BigInt reference on ids, long texts and every kind of code unit', () => {
    let x = 2463534242;
    const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 4294967296);
    const texts = ['sim|1766415600050253000|SPY|680.37|300|4|12', 'levels.events.v1|SPY|ROUND_680|1766415600250000000|BREAK', 'é', '\u{1F600}', '\uffff\u0000\ud800'];
    for (let n = 0; n < 2000; n++) {
      const len = Math.floor(rnd() * (n % 100 === 0 ? 5000 : 80));
      let s = '';
      // ASCII mostly, then any code unit (high limb bits, lone surrogates): the xor must reach all 16 bits.
      for (let i = 0; i < len; i++) s += String.fromCharCode(rnd() < 0.8 ? 32 + Math.floor(rnd() * 95) : Math.floor(rnd() * 65536));
      texts.push(s);
    }
    for (const t of texts) expect(fnv1a64(t)).toBe(reference(t));
  });

  it('makeEventId hashes the identifying fields joined by |, or keeps a vendor id', () => {
    const parts = { source: 'sim', ts_event_ns: 1766415600050253000n, symbol: 'SPY', price: 680.37, size: 300, exchange: 4, seq: 12n };
    expect(makeEventId(parts)).toBe(reference('sim|1766415600050253000|SPY|680.37|300|4|12'));
    expect(makeEventId({ ...parts, vendor_id: 'T-9' })).toBe('sim:T-9');
  });
});
