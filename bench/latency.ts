// Rows `latency` and `latency-sustained` (issue 15): event to committed signal through Kafka, at a fixed offered load, live.
//   load:  the data events of a simulated SPY session at realistic density, Avro-encoded ONCE up front (Confluent wire
//          format, registered ids); at send time each copy gets the wall time patched into its ts_event_ns/ts_recv_ns
//          (fixed-width 9-byte Avro longs at today's ns magnitudes, checked by decoding every template) and is handed
//          to one node-rdkafka producer (idempotent, acks=all, linger 2 ms, explicit murmur2 partition like the
//          feeds), so event time is wall time as in a live session. Every HEARTBEAT_MS a heartbeat (key SPY, ts now)
//          goes into every input topic, as a live feed's would: the merge releases an event only once every input's
//          watermark is past it. A run lasts at most SECONDS of wall time: when the producer cannot keep the schedule,
//          fewer events are sent, and the rate it did reach ("achieved") is what the run measured at. (Before: the
//          feeds' KafkaFeedSink encoded every record on the send path and reached 5.4k of 50k events/s.)
//   ours:  `snap-engine processor` (live, not --until-idle) in its own process: consume read_committed → merge →
//          engine → signals in Kafka transactions
//   seen:  a read_committed consumer of the signals topic in this process notes when each snap tick's rows become
//          visible; an event's latency is that time minus its own time (so an event early in a 250 ms tick waits
//          for the tick to close: the floor is a tick)
//   kept up: every tick was seen, and the median latency of the run's last quarter is within one tick of its first
//          quarter's (a processor that falls behind shows a latency growing with the backlog, bounded by nothing but
//          the run's length) and within KEPT_UP_MAX_TICKS ticks (one working off a backlog shows a falling one)
//   limit: the goal, one snap tick + 50 ms at p99 at 50k events/s offered
// Events of the first WARMUP_S seconds (processor and consumer joining, JIT) are not counted. A run lasts SECONDS (45 by
// default: 40 s counted, about four of the processor's 10-s changelog snapshots, where the slow ticks sit); 20-s runs
// counted one or two, and their p99 moved with that and with the machine's minute (271-367 ms on a quiet start).
// BENCH_LATENCY_TRACE=PATH: each run also writes PATH.<rate>.json, {t0, from, lastTick, seen: [[tick ms, visible at
// wall ms], …]}, to line the slow ticks up with what the processor was doing (its GC, snapshots, stage timings).
// `latency`: the median (by p99) of GOAL_RUNS runs at RATE (3 by default; the goal's 50,000/s); the goal is met only when
// that rate was offered (≥ 95% achieved), the processor kept up and p99 ≤ tick + 50 ms — the note says "offered load
// reached: yes|no" and gives every run's p99.
// `latency-sustained` (a comparison, not a goal): then the LADDER of lower rates is tried from the highest one not
// above what the first run achieved, down to the first rate that is offered and kept up; its p99 is the row.
//   npx tsx bench/latency.ts [rate] [seconds] [ladder]     (npm run bench -- latency; ladder e.g. 20000,5000,1000)
// bench-needs: kafka schema-registry
// bench-rows: latency latency-sustained
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import { processorInputs, simulateMarket, type Config, type InputEvent } from '@snap/core';
import { applyTopics, createKafka, EnvelopeCodec, loadConfig, partitionForKey, rdkafkaGlobalConfig, rdkafkaTopicConfig, registryOptions, SIGNALS_TOPIC, topicName } from '@snap/platform';
import { recordResult } from './results';

const RATE = Number(process.argv[2] ?? 50_000);
const SECONDS = Number(process.argv[3] ?? 45);
/** Runs at RATE for the `latency` row (BENCH_LATENCY_RUNS). */
const GOAL_RUNS = Math.max(1, Number(process.env.BENCH_LATENCY_RUNS ?? 3));
const LADDER = (process.argv[4] ?? '20000,10000,5000,2000,1000').split(',').map(Number).filter((r) => r > 0 && r < RATE).sort((a, b) => b - a);
/** Distinct events generated up front (the simulator is slower than the producer), sent round-robin after that. */
const POOL_MAX = 60_000;
const WARMUP_S = 5;
/** awaitQuiet: below this share of all cores busy counts as quiet; it waits at most QUIET_WAIT_S. */
const QUIET_BUSY = 0.25;
const QUIET_WAIT_S = 60;
/** Kept up also means the last quarter's median latency is within this many ticks: a processor that started behind
 *  and is slowly working off seconds of backlog shows a falling latency, yet it does not keep up with the rate. */
const KEPT_UP_MAX_TICKS = 4;
/** Heartbeat cadence of the load generator (wall ms); the feeds' live heartbeats are configurable the same way. */
const HEARTBEAT_MS = Number(process.env.BENCH_LATENCY_HEARTBEAT_MS ?? 10);
/** BENCH_LATENCY_PROFILE=DIR: the processor runs with --cpu-prof into DIR (a profile per run, written as it stops). */
const PROFILE_DIR = process.env.BENCH_LATENCY_PROFILE ?? '';
const ROOT = join(__dirname, '..');
/** Node flags of the processor as deployed: its Deployment's NODE_OPTIONS (k8s/base/processor.yaml), read from there. */
const PROCESSOR_NODE_FLAGS = (/name: NODE_OPTIONS\s+value: (.+)/.exec(readFileSync(join(ROOT, 'k8s/base/processor.yaml'), 'utf8'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const cpuOf = (pid: number): number => {
  try {
    // utime + stime of the process, in clock ticks (100 Hz on Linux).
    const f = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
};

/** The session's data events of the processor's input schemas, re-stamped at send time (a long run sends the pool again from its start). */
function sessionEvents(n: number, schemas: ReadonlySet<string>): InputEvent[] {
  const out: InputEvent[] = [];
  for (const ev of simulateMarket({ seed: 1, durationMs: 6.5 * 3600_000, density: 'realistic', underlyings: ['SPY'] })) {
    if (!schemas.has(ev.schema)) continue; // heartbeats are the generator's own, at its cadence
    out.push(ev);
    if (out.length >= n) break;
  }
  return out;
}

/** Avro long (zigzag varint) of a positive ns timestamp: 9 bytes for 2^55 ≤ ns < 2^62 (years 1971–2116). */
function avroLong9(ns: bigint, out: Buffer): void {
  let z = ns << 1n;
  for (let i = 0; i < 9; i++) {
    const b = Number(z & 0x7fn);
    z >>= 7n;
    out[i] = i < 8 ? b | 0x80 : b;
  }
  if (z !== 0n) throw new Error(`ts ${ns} does not fit a 9-byte Avro long`);
}

/** A pre-encoded record and where its two timestamps sit. */
interface Template {
  topic: string;
  partition: number;
  key: Buffer;
  bytes: Buffer;
  tsAt: number[];
}

const PLACEHOLDER_NS = 1_780_000_000_123_456_789n;

/** Encodes each event once with a placeholder time and finds the placeholder's bytes (checked by decoding a patched copy). */
async function preEncode(cfg: Config, codec: EnvelopeCodec, events: InputEvent[]): Promise<Template[]> {
  const ph = Buffer.alloc(9);
  avroLong9(PLACEHOLDER_NS, ph);
  const probe = PLACEHOLDER_NS + 987_654_321n;
  const probeBytes = Buffer.alloc(9);
  avroLong9(probe, probeBytes);
  const checked = new Set<string>();
  const out: Template[] = [];
  for (const ev of events) {
    const topic = topicName(cfg, ev.schema);
    await codec.register(topic, ev.schema);
    const bytes = codec.encodeSync(topic, ev.schema as never, { ...ev, ts_event_ns: PLACEHOLDER_NS, ts_recv_ns: PLACEHOLDER_NS } as never);
    const tsAt: number[] = [];
    for (let at = bytes.indexOf(ph); at >= 0; at = bytes.indexOf(ph, at + 9)) tsAt.push(at);
    if (tsAt.length !== 2) throw new Error(`${ev.schema}: expected the placeholder time twice in the encoded record, found ${tsAt.length}`);
    if (!checked.has(ev.schema)) {
      const copy = Buffer.from(bytes);
      for (const at of tsAt) probeBytes.copy(copy, at);
      const { value } = await codec.decode(copy);
      const v = value as { ts_event_ns: bigint; ts_recv_ns: bigint };
      if (v.ts_event_ns !== probe || v.ts_recv_ns !== probe) throw new Error(`${ev.schema}: patched timestamps did not decode back (${v.ts_event_ns}, ${v.ts_recv_ns})`);
      checked.add(ev.schema);
    }
    out.push({ topic, partition: partitionForKey(ev.key, cfg.kafka.partitions), key: Buffer.from(ev.key), bytes, tsAt });
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Rdkafka = require('node-rdkafka') as typeof import('node-rdkafka');
type RdProducer = InstanceType<typeof Rdkafka.Producer>;

function rdProducer(cfg: Config): Promise<RdProducer> {
  const p = new Rdkafka.Producer(
    {
      ...rdkafkaGlobalConfig(cfg, { clientId: 'bench-latency-load' }),
      'enable.idempotence': true,
      'linger.ms': 2,
      'batch.num.messages': 10_000,
      'queue.buffering.max.messages': 1_000_000,
      dr_cb: false,
    },
    rdkafkaTopicConfig(),
  );
  return new Promise((resolve, reject) => {
    p.connect({}, (err) => (err ? reject(err) : resolve(p)));
  });
}

async function waitHealthy(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`processor exited with ${child.exitCode} before it was healthy`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false);
    if (ok) return;
    if (Date.now() > until) throw new Error(`processor not healthy on :${port} after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface RunResult {
  rate: number;
  p50: number;
  p99: number;
  max: number;
  counted: number;
  unseen: number;
  offered: number;
  sent: number;
  keptUp: boolean;
  /** Median latency of the first and the last quarter of the counted events (ms). */
  firstQ: number;
  lastQ: number;
  processorCpuS: number;
  /** Tick close → visible (ms): how long after its tick time a tick's rows became visible, p50 and p99 over the ticks. */
  visP50: number;
  visP99: number;
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)]!;
};

async function runOnce(events: InputEvent[], rate: number): Promise<RunResult> {
  const prefix = `bench-lat-${randomBytes(3).toString('hex')}.`;
  const env = { ...process.env, TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', LOG_LEVEL: 'error' };
  const cfg = loadConfig({ env });
  const tickMs = cfg.snap.tick_ms;
  const kafka = createKafka(cfg, { clientId: 'bench-latency' });
  const admin = kafka.admin();
  await admin.connect();
  let proc: ChildProcess | null = null;
  // Short fetch waits: the instrument must not add its own long-poll to what it measures.
  const consumer = kafka.consumer({ groupId: `${prefix}seen`, readUncommitted: false, sessionTimeout: 30_000, maxWaitTimeInMs: 20 });
  let producer: RdProducer | null = null;
  try {
    await applyTopics(admin, cfg);
    const port = await freePort();
    const id = `bench-lat-${randomBytes(3).toString('hex')}`;
    // PROCESSOR_NODE_FLAGS: the processor Deployment's NODE_OPTIONS (k8s/base/processor.yaml), so the bench measures it as deployed.
    proc = spawn(process.execPath, [...PROCESSOR_NODE_FLAGS, ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), BIN, 'processor', '--http-port', String(port)], {
      cwd: ROOT,
      env: { ...env, SNAP_KAFKA_GROUP_ID: id, SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: id, SNAP_PROCESSOR_SESSION_TIMEOUT_MS: '30000' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitHealthy(port, proc, 120_000);

    // tick time (ms) → wall ms at which its first row became visible to a read_committed reader.
    const seen = new Map<number, number>();
    const codec = new EnvelopeCodec(registryOptions(cfg));
    await consumer.connect();
    await consumer.subscribe({ topic: topicName(cfg, SIGNALS_TOPIC), fromBeginning: true });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const at = Date.now();
        for (const m of batch.messages) {
          if (!m.value) continue;
          const { value } = await codec.decode(m.value);
          const t = Number((value as { ts_event_ns: bigint }).ts_event_ns / 1_000_000n);
          if (!seen.has(t)) seen.set(t, at);
        }
      },
    });
    for (const until = Date.now() + 60_000; !joined; ) {
      if (Date.now() > until) throw new Error('signals consumer did not join its group within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }

    const templates = await preEncode(cfg, codec, events);
    const inputTopics = processorInputs(cfg).map((sch) => topicName(cfg, sch));
    for (const t of inputTopics) await codec.register(t, 'heartbeat.v1');
    const hbPartition = partitionForKey('SPY', cfg.kafka.partitions);
    const hbKey = Buffer.from('SPY');
    producer = await rdProducer(cfg);
    producer.setPollInterval(50);
    const prod = producer;
    const stamp = Buffer.alloc(9);
    const sendHeartbeats = (ns: bigint) => {
      for (const t of inputTopics) {
        const value = codec.encodeSync(t, 'heartbeat.v1', { schema: 'heartbeat.v1', schema_version: 1, source: 'sim', ts_event_ns: ns, ts_recv_ns: ns, key: 'SPY', seq: null, event_id: `hb-${ns}` } as never);
        produceOne(prod, t, hbPartition, value, hbKey);
      }
    };
    const total = rate * SECONDS;
    const sentMs = new Float64Array(total);
    const cpu0 = cpuOf(proc.pid!);
    const t0 = Date.now();
    const endAt = t0 + SECONDS * 1000;
    let i = 0;
    let lastHb = 0;
    let queueFull = 0;
    /** The processor's /metrics at the end of the warm-up: the stage breakdown counts only what came after. */
    let warmMetrics: string | null = null;
    // Offer `rate` events/s: every millisecond or so hand over what the schedule owes, stamped with the wall time of the
    // hand-over (one stamp per slice: ties are ordered by offset, like a burst of one timestamp). At most 20 ms of the
    // schedule per slice: a producer that cannot keep the rate falls behind the schedule (the achieved rate says so)
    // instead of queueing events stamped long before they are sent.
    const slice = Math.max(1, Math.ceil(rate / 50));
    while (i < total && Date.now() < endAt) {
      const now = Date.now();
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000), i + slice);
      const ns = BigInt(now) * 1_000_000n;
      avroLong9(ns, stamp);
      while (i < due) {
        const tpl = templates[i % templates.length]!;
        const value = Buffer.allocUnsafe(tpl.bytes.length);
        tpl.bytes.copy(value);
        for (const at of tpl.tsAt) stamp.copy(value, at);
        if (!produceOne(prod, tpl.topic, tpl.partition, value, tpl.key)) {
          queueFull++;
          break;
        }
        sentMs[i] = now;
        i++;
      }
      if (warmMetrics === null && now >= t0 + WARMUP_S * 1000) {
        warmMetrics = '';
        void fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).then((t) => (warmMetrics = t), () => undefined);
      }
      if (now - lastHb >= HEARTBEAT_MS) {
        sendHeartbeats(ns);
        lastHb = now;
      }
      // Yield to the event loop (polls, the signals consumer); no pause when behind the schedule.
      await new Promise((r) => (i >= Math.floor(((Date.now() - t0) * rate) / 1000) ? setTimeout(r, 1) : setImmediate(r)));
    }
    const sent = i;
    const sendS = (Date.now() - t0) / 1000;
    // Heartbeats past the last tick close it; then wait for the tail to become visible.
    const lastTick = Math.ceil(sentMs[sent - 1]! / tickMs) * tickMs;
    const closer = setInterval(() => sendHeartbeats(BigInt(Date.now()) * 1_000_000n), HEARTBEAT_MS);
    for (const until = Date.now() + 60_000; !seen.has(lastTick) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
    clearInterval(closer);
    if (queueFull) process.stderr.write(`producer queue full ${queueFull} times (the load generator was the bound then)\n`);
    const processorCpuS = cpuOf(proc.pid!) - cpu0;
    const stages = await stageBreakdown(port, warmMetrics).catch((e: Error) => `stage breakdown unavailable: ${e.message}`);
    process.stderr.write(`rate ${rate}/s stages: ${stages}\n`);
    const waitEnd = Date.now();

    const lat: number[] = [];
    let unseen = 0;
    const from = t0 + WARMUP_S * 1000;
    for (let k = 0; k < sent; k++) {
      const s = sentMs[k]!;
      if (s < from) continue;
      const tick = Math.ceil(s / tickMs) * tickMs; // the snap tick holding the event (ts ≤ tick)
      const v = seen.get(tick);
      // An event whose tick never became visible waited at least until the wait ended: counted at that lower bound, so
      // a processor that fell far behind gets a p99 that is a lower bound, not no figure at all.
      if (v === undefined) unseen++;
      lat.push((v ?? waitEnd) - s);
    }
    // Per tick: how long after it closed (its time) its rows became visible: the part of the latency that is not the
    // wait for the tick to close.
    if (process.env.BENCH_LATENCY_TRACE) writeFileSync(`${process.env.BENCH_LATENCY_TRACE}.${rate}.json`, JSON.stringify({ t0, from, lastTick, seen: [...seen] }));
    const vis = [...seen].filter(([t]) => t >= from && t <= lastTick).map(([t, at]) => at - t).sort((a, b) => a - b);
    const vq = (p: number) => vis[Math.min(vis.length - 1, Math.floor(p * vis.length))] ?? NaN;
    process.stderr.write(`rate ${rate}/s: tick close → visible over ${vis.length} ticks: p50 ${vq(0.5)} ms, p90 ${vq(0.9)} ms, p99 ${vq(0.99)} ms, max ${vis[vis.length - 1]} ms\n`);
    const quarter = Math.floor(lat.length / 4);
    const firstQ = median(lat.slice(0, quarter));
    const lastQ = median(lat.slice(lat.length - quarter));
    const sorted = [...lat].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
    const offered = sent / sendS;
    const r: RunResult = {
      rate,
      p50: q(0.5),
      p99: q(0.99),
      max: sorted[sorted.length - 1] ?? NaN,
      counted: lat.length,
      unseen,
      offered,
      sent,
      keptUp: unseen === 0 && lastQ - firstQ <= tickMs && lastQ <= KEPT_UP_MAX_TICKS * tickMs,
      firstQ,
      lastQ,
      processorCpuS,
      visP50: vq(0.5),
      visP99: vq(0.99),
    };
    process.stderr.write(
      `rate ${rate}/s: offered ${Math.round(r.offered)} events/s for ${sendS.toFixed(1)} s; event→committed signal p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms over ${r.counted} events (${unseen} in ticks never seen: counted at the end of the wait, a lower bound); median first/last quarter ${firstQ.toFixed(0)}/${lastQ.toFixed(0)} ms (${r.keptUp ? 'kept up' : 'fell behind'}); processor ${processorCpuS.toFixed(1)} CPU s\n`,
    );
    return r;
  } finally {
    await consumer.disconnect().catch(() => {});
    if (producer) {
      const p = producer;
      await new Promise<void>((r) => p.flush(10_000, () => p.disconnect(() => r())));
    }
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch((e: Error) => process.stderr.write(`could not delete ${prefix}*: ${e.message}\n`));
    await admin.disconnect();
  }
}

/**
 * The processor's own stage timings (its /metrics histograms, since it started): how long each transaction stage took
 * and how far behind its tick a transaction's oldest row was when the transaction began and when it committed. Mean and
 * the bucket bound holding the 50th/99th percentile.
 */
async function stageBreakdown(port: number, before: string | null): Promise<string> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const hist = new Map<string, { buckets: [number, number][]; sum: number; count: number }>();
  const add = (text: string, sign: number) => {
    for (const line of text.split('\n')) {
      const c = /^snap_processor_concurrent_transactions_total (\S+)$/.exec(line);
      if (c) concurrent += sign * Number(c[1]);
      const m = /^(snap_processor_(?:commit_stage|tick_delay|tick)_seconds)_(bucket|sum|count)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
      const id = `${m[1]!.replace(/^snap_processor_|_seconds$/g, '')}{${labels.stage ?? labels.at ?? ''}}`;
      const h = hist.get(id) ?? { buckets: [], sum: 0, count: 0 };
      if (m[2] === 'bucket') {
        const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
        const b = h.buckets.find(([x]) => x === le);
        if (b) b[1] += sign * Number(m[4]);
        else h.buckets.push([le, sign * Number(m[4])]);
      } else if (m[2] === 'sum') h.sum += sign * Number(m[4]);
      else h.count += sign * Number(m[4]);
      hist.set(id, h);
    }
  };
  let concurrent = 0;
  add(text, 1);
  if (before) add(before, -1);
  const q = (h: { buckets: [number, number][]; count: number }, p: number) => {
    const b = h.buckets.find(([, c]) => c >= p * h.count);
    return b ? (b[0] === Infinity ? '>max' : `≤${b[0] * 1000}`) : '?';
  };
  return [...hist]
    .filter(([, h]) => h.count > 0)
    .map(([id, h]) => `${id} n=${h.count} mean ${((h.sum / h.count) * 1000).toFixed(1)} ms p50 ${q(h, 0.5)} p99 ${q(h, 0.99)}`)
    .concat(`CONCURRENT_TRANSACTIONS retried ${concurrent}`)
    .join('; ');
}

/** Hands one record to librdkafka; false when its queue is full (the caller retries on its next slice). */
function produceOne(p: RdProducer, topic: string, partition: number, value: Buffer, key: Buffer): boolean {
  try {
    p.produce(topic, partition, value, key);
    return true;
  } catch (e) {
    if ((e as { code?: number }).code === Rdkafka.CODES.ERRORS.ERR__QUEUE_FULL) return false;
    throw e;
  }
}

/** Busy share of all cores (0-1) over the last `ms`, from /proc/stat (null where there is none). */
async function machineBusy(ms: number): Promise<number | null> {
  const read = (): number[] | null => {
    try {
      const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      return [cpu[3]! + (cpu[4] ?? 0), cpu.reduce((a, b) => a + b, 0)]; // idle + iowait, total
    } catch {
      return null;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (a === null || b === null || b[1]! === a[1]!) return null;
  return 1 - (b[0]! - a[0]!) / (b[1]! - a[1]!);
}

/**
 * Waits (at most QUIET_WAIT_S) until the machine has been below QUIET_BUSY of its cores for two seconds running: the
 * benchmark before this one (in `npm run bench`, the scale-out processors and their topics' deletion in the broker)
 * can keep a core busy for a while after it ends, and a p99 measured on top of it measures that (p99 519 ms, load
 * average 2.9 before, against 271-286 ms on a quiet machine). Returns what it waited and the busy share it started at.
 */
async function awaitQuiet(): Promise<string> {
  const start = Date.now();
  const first = await machineBusy(1000);
  if (first === null) return 'machine load not readable';
  let quiet = first < QUIET_BUSY ? 1 : 0;
  while (quiet < 2 && Date.now() - start < QUIET_WAIT_S * 1000) {
    const b = (await machineBusy(1000)) ?? 0;
    quiet = b < QUIET_BUSY ? quiet + 1 : 0;
  }
  const waited = Math.round((Date.now() - start) / 1000);
  return `waited ${waited} s for a quiet machine (${Math.round(first * 100)}% busy at first${quiet < 2 ? `, still not quiet after ${QUIET_WAIT_S} s` : ''})`;
}

const sustained = (r: RunResult) => r.offered >= 0.95 * r.rate && r.keptUp;
const describe = (r: RunResult) =>
  `${r.rate}/s requested, achieved ${Math.round(r.offered)}/s: p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms${r.unseen ? ` (lower bounds: ${r.unseen} of ${r.counted} counted events were in ticks not visible 60 s after the run)` : ''}, ` +
  `median first/last quarter ${r.firstQ.toFixed(0)}/${r.lastQ.toFixed(0)} ms (${r.keptUp ? 'kept up' : 'fell behind'}), tick close → visible p50 ${r.visP50} ms, p99 ${r.visP99} ms, processor ${((r.processorCpuS * 1e6) / Math.max(1, r.sent)).toFixed(0)} CPU µs/event`;

async function main() {
  const cfg = loadConfig({ env: process.env });
  const pool = Math.min(POOL_MAX, RATE * SECONDS);
  process.stderr.write(`generating ${pool} events of a realistic-density SPY session\n`);
  const events = sessionEvents(pool, new Set(processorInputs(cfg)));
  const load = () => os.loadavg()[0]!.toFixed(1);
  const quietNote = await awaitQuiet();
  const loadBefore = load();
  // GOAL_RUNS runs at RATE, the row the median one by p99 (every run's p99 in the note): over 45-s runs minutes apart
  // on this machine p99 ranged 278-336 ms, so one run's figure is as much the machine's minute as the code's.
  const goalRuns: RunResult[] = [];
  for (let i = 0; i < GOAL_RUNS; i++) goalRuns.push(await runOnce(events, RATE));
  const byP99 = [...goalRuns].sort((a, b) => a.p99 - b.p99);
  const goal = byP99[Math.floor(byP99.length / 2)]!;
  const runsNote = GOAL_RUNS > 1 ? `median by p99 of ${GOAL_RUNS} runs at ${RATE}/s (their p99: ${goalRuns.map((r) => `${r.p99.toFixed(0)} ms`).join(', ')}, in run order), ` : '';
  const tried: RunResult[] = [];
  let best: RunResult | null = sustained(goal) ? goal : null;
  for (const rate of LADDER) {
    if (best) break;
    if (rate > goal.offered * 1.05) continue; // the producer could not reach it even when asked for more
    const r = await runOnce(events, rate);
    tried.push(r);
    if (sustained(r)) best = r;
  }
  const limit = cfg.snap.tick_ms + 50;
  const machine = `${os.cpus().length} cores, ${quietNote}, load average ${loadBefore} before / ${load()} after (the machine is shared)`;
  const common = `live processor over Kafka, realistic-density SPY sim events (a pool of ${pool}) pre-encoded and stamped at send time, one node-rdkafka producer, heartbeats every ${HEARTBEAT_MS} ms into every input topic, at most ${SECONDS} s per run, first ${WARMUP_S} s not counted; ${machine}`;
  const offeredOk = goal.offered >= 0.95 * RATE;
  recordResult({
    name: 'latency',
    ours: Math.round(goal.p99 * 10) / 10,
    peer: limit,
    unit: 'ms',
    higher_is_better: false,
    notes:
      `p99 event→committed signal, ${runsNote}at ${describe(goal)}; offered load reached: ${offeredOk ? 'yes' : 'no'}${offeredOk ? '' : ` (the producing process reached ${Math.round(goal.offered)} of ${RATE} events/s)`}. ` +
      `Peer = the goal, snap tick ${cfg.snap.tick_ms} ms + 50 ms (an event waits for its tick to close, so a tick is the floor). ${common}.`,
  });
  const ladder = tried.map(describe).join('; ');
  recordResult({
    name: 'latency-sustained',
    ours: best ? Math.round(best.p99 * 10) / 10 : 0,
    peer: limit,
    ...(best ? {} : { ratio: 0 }),
    unit: 'ms',
    higher_is_better: false,
    notes: best
      ? `highest sustained rate (offered ≥ 95% and kept up) of the ladder ${[RATE, ...LADDER].join(', ')}: ${describe(best)}.${ladder && best !== goal ? ` Tried: ${ladder}.` : ''} Peer = snap tick + 50 ms. ${common}.`
      : `no rate of the ladder ${[RATE, ...LADDER].join(', ')} was sustained (offered ≥ 95% and kept up); ours = 0 means none. Tried: ${ladder || 'none below the achieved rate'}. ${common}.`,
  });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
