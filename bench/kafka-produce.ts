// Row `produce` (issue 15): `snap-engine feed sim` → Kafka, records per CPU-second, against Kafka's own
// kafka-producer-perf-test (scripts/kafka-cli) in the same run, same broker, with the same producer settings:
// acks=all, no compression (the feeds' kafkajs producer sends uncompressed), idempotence on, one request in flight
// (the feeds keep per-partition order that way), linger.ms = feeds.linger_ms, and the record size = the mean Avro
// frame size of the session's records (encoded here by the one EnvelopeCodec). Each side runs RUNS times; the best
// (highest records per CPU-second of the producing process: node, or the JVM) is recorded. CPU time comes from
// /usr/bin/time for both child processes. Notes carry wall-clock rates and the simulator-only rate (feed sim --out
// to a JSONL file: no Kafka), which bounds the feed.
//   npx tsx bench/kafka-produce.ts [minutes] [seed] [runs]       (npm run bench -- kafka-produce)
// Every run uses its own TOPIC_PREFIX and deletes its topics afterwards.
// bench-needs: kafka schema-registry
// bench-rows: produce
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSession } from '@snap/core';
import { createKafka, EnvelopeCodec, loadConfig } from '@snap/platform';
import { recordResult } from './results';

const minutes = Number(process.argv[2] ?? 5);
const seed = Number(process.argv[3] ?? 1);
const RUNS = Number(process.argv[4] ?? 2);
const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const cfg = loadConfig({ env: { ...process.env, LOG_LEVEL: 'warn' } });
const brokers = cfg.kafka.brokers.join(',');

interface Timed {
  cpuS: number;
  wallS: number;
  stdout: string;
  stderr: string;
}

/** Runs a child under /usr/bin/time; its CPU seconds (user + sys, all threads) and wall seconds. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %U %S %e', cmd, ...args], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const m = /__TIME__ ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  return { cpuS: Number(m[1]) + Number(m[2]), wallS: Number(m[3]), stdout: r.stdout, stderr: r.stderr };
}

async function deleteTopics(prefix: string): Promise<void> {
  const admin = createKafka(cfg, { clientId: 'bench-produce-admin' }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  // The session's records, encoded as they go on the wire: their count and mean frame size.
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  let n = 0;
  let bytes = 0;
  for (const ev of simulateSession({ seed, durationMs: minutes * 60_000 })) {
    bytes += codec.encodeWithId(1, ev.schema, ev).length;
    n++;
  }
  const recordSize = Math.round(bytes / n);
  process.stderr.write(`session: ${n} events over ${minutes} min, mean Avro frame ${recordSize} B\n`);

  const tmp = mkdtempSync(join(tmpdir(), 'bench-produce-'));
  const ours: { rate: number; wall: number; records: number }[] = [];
  const peer: { rate: number; wall: number; records: number }[] = [];
  const simOnly: number[] = [];
  const prefixes: string[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      // Ours: the whole feed (simulator → ordering guard → heartbeats → Avro → kafkajs, idempotent, acks=all).
      const prefix = `bench-produce-${randomBytes(3).toString('hex')}.`;
      prefixes.push(prefix);
      const t = timed(process.execPath, [BIN, 'feed', 'sim', '--seed', String(seed), '--duration', `${minutes}m`], { ...process.env, TOPIC_PREFIX: prefix, LOG_LEVEL: 'info' });
      const fin = t.stdout
        .split('\n')
        .concat(t.stderr.split('\n'))
        .map((l) => {
          try {
            return JSON.parse(l) as { msg?: string; produced?: number; heartbeats?: number };
          } catch {
            return {};
          }
        })
        .find((j) => j.msg === 'feed finished');
      if (!fin?.produced) throw new Error(`feed sim printed no 'feed finished' line with produced records:\n${t.stderr.slice(-2000)}`);
      const records = fin.produced + (fin.heartbeats ?? 0);
      ours.push({ rate: records / t.cpuS, wall: records / t.wallS, records });
      process.stderr.write(`ours  run ${run + 1}: ${records} records (${fin.produced} data + ${fin.heartbeats ?? 0} heartbeats), ${t.cpuS.toFixed(2)} CPU s, ${t.wallS.toFixed(2)} s wall\n`);

      // The simulator alone (JSONL out, no Kafka): what bounds the feed from above.
      const s = timed(process.execPath, [BIN, 'feed', 'sim', '--seed', String(seed), '--duration', `${minutes}m`, '--out', join(tmp, 'sim.jsonl')], { ...process.env, LOG_LEVEL: 'warn' });
      simOnly.push(n / s.cpuS);

      // Peer: Kafka's producer perf tool, same record count and size, same settings, into a 6-partition topic.
      const topic = `${prefix}perf`;
      timed(join(ROOT, 'scripts/kafka-cli'), ['kafka-topics', '--bootstrap-server', brokers, '--create', '--topic', topic, '--partitions', String(cfg.kafka.partitions), '--replication-factor', '1']);
      const p = timed(join(ROOT, 'scripts/kafka-cli'), [
        'kafka-producer-perf-test',
        '--topic', topic,
        '--num-records', String(records),
        '--record-size', String(recordSize),
        '--throughput', '-1',
        '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'compression.type=none', 'enable.idempotence=true', 'max.in.flight.requests.per.connection=1', `linger.ms=${cfg.feeds.linger_ms}`,
      ]);
      // Progress lines have the same shape as the final summary: take the last one.
      const last = [...p.stdout.matchAll(/(\d+) records sent, ([\d.]+) records\/sec/g)].pop();
      if (!last) throw new Error(`kafka-producer-perf-test printed no summary:\n${p.stdout.slice(-1000)}\n${p.stderr.slice(-1000)}`);
      peer.push({ rate: Number(last[1]) / p.cpuS, wall: Number(last[2]), records: Number(last[1]) });
      process.stderr.write(`peer  run ${run + 1}: ${last[1]} records, ${p.cpuS.toFixed(2)} CPU s, ${Number(last[2]).toFixed(0)} records/s wall (tool's own figure)\n`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    for (const p of prefixes) await deleteTopics(p).catch((e: Error) => process.stderr.write(`could not delete topics ${p}*: ${e.message}\n`));
  }
  const best = <T extends { rate: number }>(xs: T[]) => xs.reduce((a, b) => (b.rate > a.rate ? b : a));
  const o = best(ours);
  const q = best(peer);
  recordResult({
    name: 'produce',
    ours: Math.round(o.rate),
    peer: Math.round(q.rate),
    unit: 'records/CPU-s',
    higher_is_better: true,
    notes:
      `feed sim (seed ${seed}, ${minutes} min, ${o.records} records incl. heartbeats) → Kafka vs kafka-producer-perf-test, same count, ${recordSize} B records, acks=all, no compression, idempotent, 1 in flight, linger ${cfg.feeds.linger_ms} ms; ` +
      `best of ${RUNS} per side, CPU time of the producing process (JVM: all threads). Wall: ours ${Math.round(o.wall)} records/s, peer ${Math.round(q.wall)} records/s. ` +
      `Simulator alone (feed sim --out JSONL, no Kafka): ${Math.round(Math.max(...simOnly))} events/CPU-s — it bounds the feed.`,
  });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
