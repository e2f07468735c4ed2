// Prometheus view of the Massive adapter's own state, read at scrape time (the hot path bumps plain numbers):
// how each option print got its customer side, stale quotes skipped, prints excluded by condition, kicks and idle
// reconnects per cluster, health and entitlement issues. Registered next to the sink's counters on /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MassiveFeed } from './massive-feed';

export function registerMassiveMetrics(registry: Registry, feed: Pick<MassiveFeed, 'stats' | 'health'>): void {
  const counter = (name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        read(this);
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge<string>) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge<string>) {
        this.reset();
        read(this);
      },
    });
  counter('snap_massive_option_trade_sides_total', 'Option prints by how their customer side was decided: quote (NBBO as of the trade, fresh enough), tick (tick rule), unknown', ['method'], (c) => {
    for (const [method, n] of Object.entries(feed.stats().optionTrades.side)) c.inc({ method }, n);
  });
  counter('snap_massive_option_trade_stale_quotes_total', 'Option prints whose quote at the trade time was older than massive.quote_max_age_ms (not used)', [], (c) => c.inc(feed.stats().optionTrades.staleQuote));
  counter('snap_massive_option_trades_excluded_total', 'Option prints left out by condition code (cancel, late, complex = multi-leg / stock-option)', ['class'], (c) => {
    for (const [cls, n] of Object.entries(feed.stats().optionTrades.excluded)) c.inc({ class: cls }, n);
  });
  counter('snap_massive_ws_events_total', 'WebSocket connection events per cluster: reconnects, idle timeouts (half-open sockets), kicks (max_connections / force_disconnect), slow_consumer drops', ['cluster', 'event'], (c) => {
    const s = feed.stats();
    for (const cluster of ['stocks', 'options'] as const) {
      const x = s[cluster];
      c.inc({ cluster, event: 'reconnect' }, x.reconnects);
      c.inc({ cluster, event: 'idle_timeout' }, x.idleTimeouts);
      c.inc({ cluster, event: 'kick' }, x.kicks);
      c.inc({ cluster, event: 'slow_consumer' }, x.slowConsumer);
    }
  });
  counter('snap_massive_rest_poll_errors_total', 'Greeks snapshot polls that failed (outage, 403 entitlement)', [], (c) => c.inc(feed.stats().restPollErrors));
  gauge('snap_massive_health', 'Adapter health: 0 ok, 1 degraded (something missing, the rest streams), 2 failed', [], (g) => {
    const st = feed.health().status;
    g.set(st === 'ok' ? 0 : st === 'degraded' ? 1 : 2);
  });
  gauge('snap_massive_component_up', '1 when the component is up (stocks / options WebSocket, REST greeks)', ['component'], (g) => {
    const h = feed.health();
    g.set({ component: 'stocks' }, h.stocks === 'up' ? 1 : 0);
    g.set({ component: 'options' }, h.options === 'up' ? 1 : 0);
    g.set({ component: 'rest' }, h.rest === 'ok' ? 1 : 0);
  });
  gauge('snap_massive_entitlement_issue', '1 per entitlement the plan lacks (or delay it has), as reported once in the log', ['issue'], (g) => {
    for (const e of feed.health().entitlements) g.set({ issue: e.issue }, 1);
  });
  gauge('snap_massive_data_delay_ms', 'Data delay: configured (massive.data_delay_ms) and observed (receive time − vendor event time)', ['kind'], (g) => {
    const h = feed.health();
    g.set({ kind: 'configured' }, h.data_delay_ms);
    if (h.observed_delay_ms !== null) g.set({ kind: 'observed' }, h.observed_delay_ms);
  });
}
