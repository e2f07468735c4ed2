// `run` from JSONL (issue 15): events/s of the `snap-engine run --input FILE.jsonl --out FILE.jsonl` path — the same
// reader (readEventsJsonl: chunked byte line split + parseEventBytes, parseEventLine for what it leaves), embedded
// runner (runEmbedded 'single') and payload sink the command uses, in-process (no CLI start-up), over a simulated
// session written as JSONL. It is `run --no-bronze`: the Bronze Parquet copy of the input that `run` writes by default
// is not part of the row.
// Peer (same run, same file): bare JSON.parse of every line of the file (readFileSync + split + JSON.parse), the
// floor of any JSONL consumer. CPU time of this process, best of RUNS runs each (default 5), the run path after one
// untimed run, as bench/core.ts does: V8 compiles the reader, the runner and the sink over the first ~250k events
// (runs of one session in one process: 1.4 s, then 0.68, 0.40 and 0.33 s), and a replay of days runs compiled.
// The note also gives the split of the row's time, each part measured alone on the same events: read+parse (the
// reader alone), guard+merge (runEmbedded over the pre-parsed events with no sink, less the engine alone), engine
// (SnapEngine.push alone), sink (the payloads of one run written through JsonlPayloadSink alone) — so a reader sees
// what bounds the row.
//   npx tsx bench/run-jsonl.ts [minutes] [seed] [runs]      (npm run bench -- run-jsonl)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, simulateToJsonl, SnapEngine, type InputEvent, type LevelPhysicsPayload } from '@snap/core';
import { JsonlPayloadSink, runEmbedded } from '@snap/processor';
import { readEventsJsonl } from '../services/cli/src/commands/run';
import { bestCpuSecondsAsync, cpuSecondsAsync as cpu, recordResult } from './results';

const minutes = Number(process.argv[2] ?? 30);
const seed = Number(process.argv[3] ?? 1);
const RUNS = Number(process.argv[4] ?? 5);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-run-jsonl-'));
  try {
    const input = join(dir, 'events.jsonl');
    const lines: string[] = [];
    const sum = simulateToJsonl({ seed, durationMs: minutes * 60_000 }, (l) => lines.push(l));
    writeFileSync(input, lines.join('\n') + '\n');
    lines.length = 0;
    const bytes = readFileSync(input).length;

    let parsed = 0;
    const peerBest = await bestCpuSecondsAsync(RUNS, async () => {
      const all = readFileSync(input, 'utf8').split('\n');
      let n = 0;
      for (let i = 0; i < all.length; i++) if (all[i]!.length > 0 && JSON.parse(all[i]!) !== null) n++;
      parsed = n;
    });

    let stats = { events: 0, payloads: 0 };
    // Each run's payloads into a file of its own (the temp dir goes at the end): nothing but the run is timed.
    const oursBest = await bestCpuSecondsAsync(
      RUNS,
      async (run) => {
        const st = await runEmbedded({ cfg: defaultConfig(), source: readEventsJsonl(input), sinks: [new JsonlPayloadSink(join(dir, `payloads-${run}.jsonl`))], streams: 'single', progressEvery: 1e12 });
        stats = { events: st.events, payloads: st.payloads };
      },
      1,
    );
    // The reader alone, before the events are kept in memory (a large live heap would slow its collections).
    const readBest = await bestCpuSecondsAsync(RUNS, async () => {
      for (const _ of readEventsJsonl(input)) void _;
    });
    // The cap: the engine alone over the same events, pre-parsed (what `run` would do with free input and output).
    const events: InputEvent[] = [...readEventsJsonl(input)];
    const engineBest = await bestCpuSecondsAsync(RUNS, async () => {
      const engine = new SnapEngine(defaultConfig(), 'SPY');
      for (let i = 0; i < events.length; i++) engine.push(events[i]!);
    });
    const engineRate = Math.round(events.length / engineBest);
    // The rest of the split: each part of the run path alone, on the same events.
    let embeddedBest = Infinity;
    let sinkBest = Infinity;
    const payloads: LevelPhysicsPayload[] = [];
    await runEmbedded({ cfg: defaultConfig(), source: events, sinks: [{ onPayload: (p) => void payloads.push(p), close: () => undefined }], streams: 'single', progressEvery: 1e12 });
    for (let r = 0; r < RUNS; r++) {
      embeddedBest = Math.min(
        embeddedBest,
        await cpu(async () => {
          await runEmbedded({ cfg: defaultConfig(), source: events, sinks: [], streams: 'single', progressEvery: 1e12 });
        }),
      );
      const out = join(dir, `sink-${r}.jsonl`);
      sinkBest = Math.min(
        sinkBest,
        await cpu(async () => {
          const sink = new JsonlPayloadSink(out);
          for (let i = 0; i < payloads.length; i++) sink.onPayload(payloads[i]!);
          await sink.close();
        }),
      );
      rmSync(out, { force: true });
    }
    payloads.length = 0;
    events.length = 0;
    const guardBest = Math.max(0, embeddedBest - engineBest);
    const partsSum = readBest + guardBest + engineBest + sinkBest;
    const pct = (x: number) => `${Math.round((100 * x) / partsSum)}%`;
    const split =
      `Split, each part alone (CPU s, share of their sum ${partsSum.toFixed(3)} s): read+parse ${readBest.toFixed(3)} (${pct(readBest)}, ${Math.round(stats.events / readBest)} events/s), ` +
      `guard+merge ${guardBest.toFixed(3)} (${pct(guardBest)}), engine ${engineBest.toFixed(3)} (${pct(engineBest)}, ${engineRate} events/s), ` +
      `payload sink ${sinkBest.toFixed(3)} (${pct(sinkBest)}, ${stats.payloads} payloads); the run itself took ${oursBest.toFixed(3)} s, the rest being ` +
      `what the parts cost together (JIT warm-up best-of-N still holds, young-generation collections of events the engine keeps, caches). The row cannot exceed the engine alone; ` +
      `400,000 events/s needs all four parts together under ${(stats.events / 400_000).toFixed(3)} s.`;
    if (stats.events !== sum.events || parsed !== sum.events) throw new Error(`run-jsonl: event counts differ (file ${sum.events}, run ${stats.events}, peer ${parsed})`);
    const ours = Math.round(stats.events / oursBest);
    const peer = Math.round(parsed / peerBest);
    console.log(JSON.stringify({ bench: 'run-jsonl', minutes, seed, events: stats.events, payloads: stats.payloads, file_mb: +(bytes / 1e6).toFixed(1), ours_cpu_s: oursBest, peer_cpu_s: peerBest, engine_cpu_s: engineBest, read_cpu_s: readBest, guard_merge_cpu_s: guardBest, sink_cpu_s: sinkBest }));
    recordResult({
      name: 'run-jsonl',
      ours,
      peer,
      unit: 'events/s',
      higher_is_better: true,
      notes:
        `run path in-process (readEventsJsonl → runEmbedded 'single' → JsonlPayloadSink; as run --no-bronze) over ${stats.events} simulated events ` +
        `(${(bytes / 1e6).toFixed(1)} MB JSONL, seed ${seed}, ${minutes} min; ${stats.payloads} payloads written); peer = readFileSync + split + JSON.parse ` +
        `of every line of the same file. Best of ${RUNS} runs after one untimed run (JIT warm-up), CPU time. ${split} Goal 400,000 events/s: ${ours >= 400_000 ? 'met' : 'NOT met'}.`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
