import { parseConfig } from './config';
import type { InputEvent } from './events';
import { InputDiagnostics, inputNeeds, type InputIssue } from './input-needs';
import { greeks, optTrade, quote, trade } from './test-support';

const hb = (tMs: number, key = 'SPY'): InputEvent => ({ ...quote(tMs, 1, 1), schema: 'heartbeat.v1', key }) as unknown as InputEvent;
const mbp = (tMs: number): InputEvent => ({ ...quote(tMs, 1, 1), schema: 'futures.mbp10.v1', symbol: 'ESH6', bid_px: [6000], bid_sz: [1], ask_px: [6000.25], ask_sz: [1], bid_ct: [1], ask_ct: [1], flags: 0, is_snapshot: false }) as unknown as InputEvent;

describe('inputNeeds', () => {
  it('L1: SPY quotes are required, trades and options are not, futures are not read', () => {
    const needs = inputNeeds(parseConfig({}), 'SPY');
    expect(needs.filter((n) => n.required).map((n) => n.schema)).toEqual(['stocks.quotes.v1']);
    expect(needs.map((n) => n.schema)).not.toContain('futures.mbp10.v1');
    expect(needs.find((n) => n.schema === 'stocks.quotes.v1')!.readers).toContain('the L1 barrier');
  });
  it('MBP-10: the futures book becomes required and the quotes still are (spot, basis)', () => {
    const needs = inputNeeds(parseConfig({ barrier: { source: 'mbp10' } }), 'SPY');
    expect(needs.filter((n) => n.required).map((n) => n.schema).sort()).toEqual(['futures.mbp10.v1', 'stocks.quotes.v1']);
    expect(needs.find((n) => n.schema === 'stocks.quotes.v1')!.readers.join(' ')).toContain('basis');
  });
});

describe('InputDiagnostics', () => {
  it('DBN-only input: names the missing SPY quotes once, with the fix', () => {
    const d = new InputDiagnostics(parseConfig({ barrier: { source: 'mbp10' } }));
    for (let i = 0; i < 100; i++) expect(d.observe(mbp(i * 100))).toEqual([]);
    const issues = d.finish();
    const quotes = issues.find((i) => i.schema === 'stocks.quotes.v1')!;
    expect(quotes).toMatchObject({ kind: 'missing', underlying: 'SPY', required: true });
    expect(quotes.message).toMatch(/^no stocks\.quotes\.v1 for SPY: spot and the levels, .* need SPY quotes \(without them no payload is written for SPY\); see docs\/data\.md$/);
    expect(issues.map((i) => i.schema)).not.toContain('futures.mbp10.v1');
    expect(d.finish()).toEqual([]);
  });

  it('complete L1 input raises nothing', () => {
    const d = new InputDiagnostics(parseConfig({}));
    const evs: InputEvent[] = [quote(0, 500, 500.01), trade(1, 500, 100), greeks(2, 'O:SPY1', 500, 'C', 0.01), optTrade(3, { symbol: 'O:SPY1', strike: 500, right: 'C', price: 1, size: 10 })];
    for (const e of evs) expect(d.observe(e)).toEqual([]);
    expect(d.finish()).toEqual([]);
  });

  it('an input that stops while the others go on is stale, once; an overnight gap of everything is not', () => {
    const d = new InputDiagnostics(parseConfig({}), { staleMs: 60_000 });
    const found = [];
    found.push(...d.observe(trade(0, 500, 1)), ...d.observe(greeks(0, 'O:SPY1', 500, 'C', 0.01)), ...d.observe(optTrade(0, { symbol: 'O:SPY1', strike: 500, right: 'C', price: 1, size: 1 })));
    // Quotes and trades for 3 minutes; the option inputs never again.
    for (let s = 0; s <= 180; s++) found.push(...d.observe(quote(s * 1000, 500, 500.01)), ...d.observe(trade(s * 1000 + 1, 500, 1)));
    expect(found.map((i) => `${i.kind} ${i.schema}`).sort()).toEqual(['stale options.greeks_snapshots.v1', 'stale options.trades.v1']);
    expect(found[0]!.message).toContain('stopped at');
    // Overnight: nothing for 16 h, then quotes only for 30 s: trades are not stale yet (the stretch is young).
    const d2 = new InputDiagnostics(parseConfig({}), { staleMs: 60_000 });
    const late: InputIssue[] = [];
    late.push(...d2.observe(quote(0, 500, 500.01)), ...d2.observe(trade(0, 500, 1)));
    for (let s = 0; s < 30; s++) late.push(...d2.observe(quote(16 * 3600_000 + s * 1000, 500, 500.01)));
    expect(late.filter((i) => i.kind === 'stale')).toEqual([]);
  });

  it('a live run (no end of input) names an input never seen once the underlying has had staleMs of data', () => {
    const d = new InputDiagnostics(parseConfig({}), { staleMs: 60_000 });
    const found = [];
    for (let s = 0; s <= 90; s++) found.push(...d.observe(quote(s * 1000, 500, 500.01)));
    expect(found.map((i) => `${i.kind} ${i.schema}`).sort()).toEqual(['missing options.greeks_snapshots.v1', 'missing options.trades.v1', 'missing stocks.trades.v1']);
    expect(d.finish()).toEqual([]);
  });

  it('an underlying with no data at all is one issue; heartbeats do not count as data', () => {
    const d = new InputDiagnostics(parseConfig({ underlyings: ['SPY', 'QQQ'] }));
    d.observe(quote(0, 500, 500.01));
    d.observe(hb(1, 'QQQ'));
    const issues = d.finish();
    expect(issues.filter((i) => i.underlying === 'QQQ')).toEqual([expect.objectContaining({ kind: 'no_data', required: true })]);
  });
});
