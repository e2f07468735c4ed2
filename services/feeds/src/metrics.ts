// Prometheus view of a feed sink's counters (produced, late, clamped, dead-lettered, heartbeats), read at scrape
// time so the hot path only bumps plain numbers. Long-running feeds (Massive) serve it on /metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import type { FeedSinkMetrics } from './sink';

export function feedMetricsRegistry(source: () => FeedSinkMetrics, feed: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ feed });
  const counter = (name: string, help: string, labelNames: string[], read: (m: FeedSinkMetrics, c: Counter<string>) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        read(source(), this);
      },
    });
  counter('snap_feed_records_produced_total', 'Market-data records written, by schema', ['schema'], (m, c) => {
    for (const [schema, n] of Object.entries(m.produced_by_schema)) c.inc({ schema }, n);
  });
  counter('snap_feed_heartbeats_total', 'heartbeat.v1 records written (one per input topic)', [], (m, c) => c.inc(m.heartbeats));
  counter('snap_feed_late_records_total', 'Records older than their partition time, by action', ['action'], (m, c) => {
    c.inc({ action: 'clamped' }, m.clamped);
    c.inc({ action: 'dead_lettered' }, m.late - m.clamped);
  });
  counter('snap_feed_dead_letters_total', 'Records sent to the dead-letter topic, by error class', ['error_class'], (m, c) => {
    for (const [error_class, n] of Object.entries(m.dead_lettered_by_class)) c.inc({ error_class }, n);
  });
  return registry;
}

/** GET /metrics (Prometheus text) and /healthz on `port` (0 = any free port). */
export async function serveFeedMetrics(registry: Registry, port: number, healthy: () => boolean): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
    } else if (path === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok }));
    } else {
      res.writeHead(404);
      res.end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
