import { LatenessGuard, latenessRuleOf } from './lateness';
import { parseConfig } from './config';
import { heartbeat, quote, trade } from './test-support';

const guard = (policy: 'dead_letter' | 'clamp', tolerance = 0) => new LatenessGuard(latenessRuleOf(parseConfig({ ordering: { late_policy: policy, late_tolerance_ms: tolerance } })));

describe('LatenessGuard: one rule for late records', () => {
  it('passes in-order records, dead-letters a late one (policy dead_letter) naming the stream, never moves back', () => {
    const g = guard('dead_letter');
    expect(g.check('stocks.quotes.v1', quote(1000, 545, 545.01)).kind).toBe('ok');
    expect(g.check('stocks.quotes.v1', quote(1000, 545, 545.02)).kind).toBe('ok'); // equal time is in order
    const v = g.check('stocks.quotes.v1', quote(-19_000, 545, 545.01));
    expect(v).toMatchObject({ kind: 'late', lateByNs: 20_000_000_000n });
    expect(v.kind === 'late' && v.reason).toMatch(/late record: .* 20\.000 s behind .* on stocks\.quotes\.v1 for SPY/);
    expect(g.watermark('stocks.quotes.v1', 'SPY')).toBe(quote(1000, 1, 1).ts_event_ns);
  });

  it('streams are (schema, underlying): other schemas and underlyings are independent', () => {
    const g = guard('dead_letter');
    g.check('stocks.quotes.v1', quote(1000, 545, 545.01));
    expect(g.check('stocks.trades.v1', trade(0, 545, 100)).kind).toBe('ok');
    expect(g.check('stocks.quotes.v1', quote(0, 400, 400.01, 1, 1, 'QQQ')).kind).toBe('ok');
  });

  it('clamps to the watermark under policy clamp, and within the tolerance under dead_letter', () => {
    const c = guard('clamp');
    c.check('stocks.trades.v1', trade(1000, 545, 100));
    const v = c.check('stocks.trades.v1', trade(0, 545, 100));
    expect(v.kind).toBe('clamped');
    expect(v.kind === 'clamped' && v.event.ts_event_ns).toBe(trade(1000, 1, 1).ts_event_ns);
    expect(v.kind === 'clamped' && v.originalTsNs).toBe(trade(0, 1, 1).ts_event_ns);
    const t = guard('dead_letter', 500);
    t.check('stocks.trades.v1', trade(1000, 545, 100));
    expect(t.check('stocks.trades.v1', trade(500, 545, 100)).kind).toBe('clamped');
    expect(t.check('stocks.trades.v1', trade(499, 545, 100)).kind).toBe('late');
  });

  it('heartbeats advance their key (or every key when wildcard) and are never late', () => {
    const g = guard('dead_letter');
    g.check('stocks.quotes.v1', quote(0, 545, 545.01));
    expect(g.check('stocks.quotes.v1', heartbeat(2000)).kind).toBe('ok');
    expect(g.check('stocks.quotes.v1', quote(1000, 545, 545.01)).kind).toBe('late');
    expect(g.check('stocks.quotes.v1', heartbeat(1000)).kind).toBe('ok');
    g.check('stocks.quotes.v1', quote(0, 400, 400.01, 1, 1, 'QQQ'));
    g.check('stocks.quotes.v1', heartbeat(5000, '*'));
    expect(g.check('stocks.quotes.v1', quote(4000, 400, 400.01, 1, 1, 'QQQ')).kind).toBe('late');
  });

  it('snapshots and restores its watermarks', () => {
    const g = guard('dead_letter');
    g.check('stocks.quotes.v1', quote(1000, 545, 545.01));
    const r = LatenessGuard.restore(g.rule, JSON.parse(JSON.stringify(g.snapshot())));
    expect(r.check('stocks.quotes.v1', quote(999, 545, 545.01)).kind).toBe('late');
    expect(r.snapshot()).toEqual(g.snapshot());
  });
});
