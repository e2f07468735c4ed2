// Row `memory` (issue 15): max RSS of the embedded run path (runEmbedded: per-stream lateness guard, plausibility,
// DeterministicMerge, SnapEngine, a counting sink) over at least 20M events, against the 512 MiB limit (the peer).
// The input is a simulated session (default 30 min, seed 1) replayed lap after lap with event time shifted by the
// session length each lap, so state windows, level sets and option chains keep rolling for the whole run while
// the simulator (far slower than the engine) runs once. Events stream from a generator: nothing is buffered.
// Max RSS comes from /usr/bin/time on a child process doing only this; RUNS runs, the worst (highest) is recorded.
//   npx tsx bench/memory.ts [million_events] [runs]       (npm run bench -- memory)
// bench-rows: memory
import { spawnSync } from 'node:child_process';
import { defaultConfig, simulateSession, type InputEvent } from '@snap/core';
import { runEmbedded } from '@snap/processor';
import { recordResult } from './results';

const LIMIT_MIB = 512;

async function child(total: number, minutes: number) {
  const base = [...simulateSession({ seed: 1, durationMs: minutes * 60_000 })];
  const span = base[base.length - 1]!.ts_event_ns - base[0]!.ts_event_ns + 1_000_000_000n;
  function* laps(): Generator<InputEvent> {
    let n = 0;
    for (let lap = 0n; ; lap++) {
      const d = lap * span;
      for (const e of base) {
        if (n++ >= total) return;
        const shifted = { ...e, ts_event_ns: e.ts_event_ns + d, ts_recv_ns: e.ts_recv_ns + d, event_id: `${e.event_id}-${lap}` } as InputEvent;
        if (shifted.schema === 'options.greeks_snapshots.v1') {
          if (shifted.last_quote_ts_ns !== null) shifted.last_quote_ts_ns += d;
          if (shifted.last_trade_ts_ns !== null) shifted.last_trade_ts_ns += d;
        }
        yield shifted;
      }
    }
  }
  let payloads = 0;
  const t0 = process.cpuUsage();
  const stats = await runEmbedded({
    cfg: defaultConfig(),
    source: laps(),
    sinks: [{ onPayload: () => void payloads++, close: () => undefined }],
    streams: 'by-schema',
    // A line per million events: whether RSS stays flat shows before the run ends (and in a run cut short).
    progressEvery: 1_000_000,
    onProgress: (s) => process.stderr.write(`${s.events} events: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`),
  });
  const cpu = process.cpuUsage(t0);
  process.stdout.write(`${JSON.stringify({ events: stats.events, payloads, cpu_s: (cpu.user + cpu.system) / 1e6, dead: stats.deadLettered })}\n`);
}

async function main() {
  const million = Number(process.argv[2] ?? 20);
  const runs = Number(process.argv[3] ?? 1);
  const total = Math.round(million * 1e6);
  const rss: number[] = [];
  let last: { events: number; payloads: number; cpu_s: number } | null = null;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '__RSS__ %M', process.execPath, ...process.execArgv, __filename, '--child', String(total)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const l of r.stderr.split('\n')) if (l.includes(' events: rss ')) process.stderr.write(`  ${l}\n`);
    const m = /__RSS__ (\d+)/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`memory child failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
    rss.push(Number(m[1]) / 1024);
    last = JSON.parse(r.stdout.trim().split('\n').pop()!) as typeof last;
    process.stderr.write(`run ${i + 1}: ${last!.events} events, max RSS ${(Number(m[1]) / 1024).toFixed(0)} MiB, ${last!.cpu_s.toFixed(1)} CPU s\n`);
  }
  const worst = Math.max(...rss);
  recordResult({
    name: 'memory',
    ours: Math.round(worst),
    peer: LIMIT_MIB,
    unit: 'MiB max RSS',
    higher_is_better: false,
    notes: `runEmbedded (guard, merge, engine) over ${last!.events} events (30-min seed-1 session replayed with shifted event time), ${last!.payloads} payloads, ${last!.cpu_s.toFixed(0)} CPU s; worst of ${runs} run(s), /usr/bin/time max RSS of the child; peer = the 512 MiB limit.`,
  });
}

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), 30).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
