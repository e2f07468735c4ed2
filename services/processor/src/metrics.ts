// Prometheus metrics and the /healthz + /metrics endpoint of the processor (and of replay runs).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ProcessorMetrics {
  readonly registry = new Registry();
  readonly lag = new Gauge({ name: 'snap_processor_consumer_lag', help: 'Records between the processor position and the partition end offset', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly events = new Counter({ name: 'snap_processor_events_total', help: 'Input records consumed (rate() = events/s)', labelNames: ['topic'], registers: [this.registry] });
  readonly released = new Counter({ name: 'snap_processor_events_released_total', help: 'Events released by the merge into the engines', registers: [this.registry] });
  readonly tickSeconds = new Histogram({
    name: 'snap_processor_tick_seconds',
    help: 'Engine time for a push that produced snap ticks',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly signals = new Counter({ name: 'snap_processor_signal_rows_total', help: 'levels.signals.v1 rows produced (committed or not)', registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'snap_processor_dead_letters_total', help: 'Input records dead-lettered', labelNames: ['error_class'], registers: [this.registry] });
  readonly stateBytes = new Gauge({ name: 'snap_processor_state_size_bytes', help: 'Size of the last changelog snapshot (compressed)', labelNames: ['group'], registers: [this.registry] });
  readonly buffered = new Gauge({ name: 'snap_processor_merge_buffered', help: 'Records waiting in the merge for a slower input', labelNames: ['group'], registers: [this.registry] });
  readonly snapshots = new Counter({
    name: 'snap_processor_snapshots_total',
    help: 'State snapshots committed to the changelog, by the transaction that carried them: own (encoded for it), carried (encoded in the background, in the next transaction), snapshot_only (in one of its own: the input went quiet)',
    labelNames: ['carrier'],
    registers: [this.registry],
  });
  readonly transactions = new Counter({ name: 'snap_processor_transactions_total', help: 'Transactions by result', labelNames: ['result'], registers: [this.registry] });
  readonly assigned = new Gauge({ name: 'snap_processor_assigned_groups', help: 'Partition groups owned by this instance', registers: [this.registry] });
  readonly clamped = new Counter({ name: 'snap_processor_late_clamped_total', help: 'Late input records clamped to their stream event time (ordering.late_policy)', registers: [this.registry] });
  readonly stalled = new Gauge({ name: 'snap_processor_stalled_groups', help: 'Partition groups with input that released nothing for processor.stall_timeout_ms', registers: [this.registry] });
  readonly bookStale = new Gauge({ name: 'snap_processor_book_source_stale', help: '1 while an underlying\'s book source (futures MBP-10 or L1 quotes) sent nothing for processor.book_stale_ms', labelNames: ['underlying', 'source'], registers: [this.registry] });
  /** Wall time of each stage of a transaction (issue 15's latency breakdown: what a committed signal waits for). */
  readonly commitStageSeconds = new Histogram({
    name: 'snap_processor_commit_stage_seconds',
    help: 'Wall time per transaction stage: snapshot (state to gzip\'d JSON, when one is made in the transaction), capture (live: the state captured for a background snapshot), snapshot_sliced (live: a background snapshot from capture to gzip\'d bytes, written in slices between other work; a later transaction carries it), encode (outputs to Avro), send (records), offsets (AddOffsetsToTxn + TxnOffsetCommit), commit (EndTxn)',
    labelNames: ['stage'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Event time is wall time in a live session: how long after its tick closed a tick's rows were handed to / committed in a transaction. */
  readonly tickDelaySeconds = new Histogram({
    name: 'snap_processor_tick_delay_seconds',
    help: 'Wall clock minus the oldest tick time of a transaction\'s signal rows, at: released (the merge released the tick into the engines), start (transaction begins), committed (EndTxn returned); fetched: the age of a fetched batch\'s newest record (producer time) when its processing starts. Meaningful live (event time = wall time)',
    labelNames: ['at'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly concurrentTransactions = new Counter({ name: 'snap_processor_concurrent_transactions_total', help: 'CONCURRENT_TRANSACTIONS answers retried (the coordinator still completing the previous commit when the next transaction starts)', registers: [this.registry] });
  readonly restores = new Counter({ name: 'snap_processor_restores_total', help: 'Partition-group tasks built (from a snapshot or from scratch)', labelNames: ['from'], registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'snap_processor_' });
  }
}

export interface HealthSource {
  health(): { ok: boolean; [k: string]: unknown };
  /** /livez: false only when a restart could help (a stalled group). A stale upstream book makes /healthz 503 (not
   *  ready, alerted) but restarting the processor cannot bring the book back, so liveness ignores it. */
  liveness?(): { ok: boolean; [k: string]: unknown };
}

/** Serves /healthz (200 when healthy, 503 otherwise) and /metrics. Port 0 picks a free port. */
export async function startHttp(port: number, metrics: ProcessorMetrics, health: HealthSource): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const h = health.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
    } else if (path === '/livez') {
      const h = health.liveness ? health.liveness() : health.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /healthz, /livez or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
