import { feedMetricsRegistry } from './metrics';
import type { FeedSinkMetrics } from './sink';

describe('feedMetricsRegistry', () => {
  it('exposes the sink counters as Prometheus counters, read at scrape time', async () => {
    const m: FeedSinkMetrics = { produced: 3, heartbeats: 12, late: 2, clamped: 0, implausible: 0, dead_lettered: 3, dead_lettered_by_class: { LateRecord: 2, CodecError: 1 }, produced_by_schema: { 'stocks.trades.v1': 3 } };
    const reg = feedMetricsRegistry(() => m, 'sim');
    let text = await reg.metrics();
    expect(text).toContain('snap_feed_records_produced_total{schema="stocks.trades.v1",feed="sim"} 3');
    expect(text).toContain('snap_feed_heartbeats_total{feed="sim"} 12');
    expect(text).toContain('snap_feed_late_records_total{action="dead_lettered",feed="sim"} 2');
    expect(text).toContain('snap_feed_dead_letters_total{error_class="CodecError",feed="sim"} 1');
    m.heartbeats = 18;
    text = await reg.metrics();
    expect(text).toContain('snap_feed_heartbeats_total{feed="sim"} 18');
  });
});
