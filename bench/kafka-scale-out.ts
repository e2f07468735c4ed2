// Row `scale-out` (issue 15): processor throughput with 1, 2 and 4 instances in one consumer group on a
// multi-underlying session (feed sim with UNDERLYINGS=SPY,QQQ,IWM: SPY+ES, QQQ+NQ, IWM+RTY side by side), each
// instance `processor --until-idle`. Throughput = input records / wall seconds from the first start to the last
// exit (scale-out is about wall time; the CPU seconds of all instances are in the notes). Each instance count runs
// on the same pre-filled topics under a fresh group and transactional-id prefix, RUNS times, best kept.
// ours = 4 instances, peer = 1 instance (ratio = the speed-up); the 2-instance figure is in the notes. A partition
// group is one underlying's partition across the input topics, so the speed-up is bounded by how many distinct
// partitions the underlyings hash to (printed) and by the machine's cores.
//   npx tsx bench/kafka-scale-out.ts [minutes] [seed] [runs] [underlyings]     (npm run bench -- kafka-scale-out)
// bench-needs: kafka schema-registry
// bench-rows: scale-out
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createKafka, INPUT_TOPICS, loadConfig, topicName } from '@snap/platform';
import { recordResult } from './results';

const minutes = Number(process.argv[2] ?? 10);
const seed = Number(process.argv[3] ?? 1);
const RUNS = Number(process.argv[4] ?? 1);
const UNDERLYINGS = process.argv[5] ?? 'SPY,QQQ,IWM';
const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const prefix = `bench-scale-${randomBytes(3).toString('hex')}.`;
const env = { ...process.env, TOPIC_PREFIX: prefix, UNDERLYINGS, LOG_LEVEL: 'warn', SNAP_PROCESSOR_SESSION_TIMEOUT_MS: process.env.SNAP_PROCESSOR_SESSION_TIMEOUT_MS ?? '30000' };
const cfg = loadConfig({ env });

/** k instances at once; resolves with wall seconds (first start → last exit) and their summed CPU seconds. */
function instances(k: number, id: string): Promise<{ wallS: number; cpuS: number }> {
  const t0 = Date.now();
  return Promise.all(
    Array.from({ length: k }, (_, i) =>
      new Promise<number>((resolve, reject) => {
        const c = spawn('/usr/bin/time', ['-f', '__TIME__ %U %S', process.execPath, BIN, 'processor', '--until-idle', '--http-port', '0'], {
          cwd: ROOT,
          env: { ...env, SNAP_KAFKA_GROUP_ID: id, SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: id, SNAP_KAFKA_CLIENT_ID: `${id}-${i}` },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        c.stderr.on('data', (d: Buffer) => {
          err = (err + d.toString()).slice(-4000);
        });
        c.on('close', (code) => {
          const m = /__TIME__ ([\d.]+) ([\d.]+)/.exec(err);
          if (code !== 0 || !m) reject(new Error(`instance ${i + 1}/${k} exited ${code}: ${err}`));
          else resolve(Number(m[1]) + Number(m[2]));
        });
      }),
    ),
  ).then((cpus) => ({ wallS: (Date.now() - t0) / 1000, cpuS: cpus.reduce((a, b) => a + b, 0) }));
}

async function main() {
  const admin = createKafka(cfg, { clientId: 'bench-scale-admin' }).admin();
  await admin.connect();
  try {
    process.stderr.write(`filling ${prefix}* with feed sim --seed ${seed} --duration ${minutes}m (UNDERLYINGS=${UNDERLYINGS})\n`);
    const f = spawnSync(process.execPath, [BIN, 'feed', 'sim', '--seed', String(seed), '--duration', `${minutes}m`], { cwd: ROOT, env, encoding: 'utf8' });
    if (f.status !== 0) throw new Error(`feed sim failed: ${f.stderr.slice(-2000)}`);
    let total = 0;
    const busy = new Set<number>();
    for (const s of INPUT_TOPICS) {
      for (const o of await admin.fetchTopicOffsets(topicName(cfg, s))) {
        const n = Number(o.high) - Number(o.low);
        total += n;
        if (n > 0) busy.add(o.partition);
      }
    }
    process.stderr.write(`input: ${total} records; busy partitions: ${[...busy].sort().join(',')}\n`);
    const best = new Map<number, { rate: number; wallS: number; cpuS: number }>();
    for (let run = 0; run < RUNS; run++) {
      for (const k of [1, 2, 4]) {
        const r = await instances(k, `bench-${randomBytes(3).toString('hex')}`);
        const rate = total / r.wallS;
        process.stderr.write(`${k} instance(s): ${r.wallS.toFixed(1)} s wall, ${r.cpuS.toFixed(1)} CPU s, ${Math.round(rate)} records/s\n`);
        if (!best.has(k) || rate > best.get(k)!.rate) best.set(k, { rate, ...r });
      }
    }
    const one = best.get(1)!;
    const two = best.get(2)!;
    const four = best.get(4)!;
    recordResult({
      name: 'scale-out',
      ours: Math.round(four.rate),
      peer: Math.round(one.rate),
      unit: 'records/s wall (4 vs 1 instance)',
      higher_is_better: true,
      notes:
        `processor --until-idle instances in one group on feed sim UNDERLYINGS=${UNDERLYINGS} (seed ${seed}, ${minutes} min, ${total} input records, busy partitions ${[...busy].sort().join(',')} of ${cfg.kafka.partitions}); ` +
        `wall from first start to last exit incl. start-up and rebalances, best of ${RUNS}. 1: ${Math.round(one.rate)}/s (${one.cpuS.toFixed(1)} CPU s), 2: ${Math.round(two.rate)}/s (${two.cpuS.toFixed(1)} CPU s), 4: ${Math.round(four.rate)}/s (${four.cpuS.toFixed(1)} CPU s). ` +
        `The machine has 2 cores shared with other work.`,
    });
  } finally {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch((e: Error) => process.stderr.write(`could not delete ${prefix}*: ${e.message}\n`));
    await admin.disconnect();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
