// `run` from binary inputs (issue 15): events/s of `snap-engine run --input …` over DBN and Bronze Parquet, in-process
// (runSource → runEmbedded 'single' → JsonlPayloadSink, as run --no-bronze), on a simulated session:
// - run-dbn: the session's ES book and trades as two DBN zstd files (mbp-10, trades; written with @snap/dbn's
//   encoder) merged with a JSONL of its other events. Peer (same run): decode-only of the two DBN files (the
//   decoder + the feed dbn mapping to events, nothing else), events/s.
// - run-bronze: the session's Bronze objects (as `run` writes them under DATA_ROOT) as the inputs. Peer: decode-only
//   of the same objects (Parquet → rows → events), events/s.
// The note gives `run` over the same events as one JSONL (the run-jsonl path) for comparison. CPU time, best of RUNS
// after one untimed run of each (V8 compiles the path over the first runs; as bench/run-jsonl.ts and bench/core.ts).
//   npx tsx bench/run-binary.ts [minutes] [seed] [runs]      (npm run bench -- run-binary)
// bench-rows: run-dbn run-bronze
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, formatEventLine, parseEventLine, simulateToJsonl, type FuturesMbp10, type FuturesTrade, type InputEvent } from '@snap/core';
import { DbnWriter, ES_SIM_DEFAULTS, FuturesEventsToDbn, esSimMetadata } from '@snap/dbn';
import { EmbeddedBronzeWriter } from '@snap/lake-sink';
import { JsonlPayloadSink, runEmbedded } from '@snap/processor';
import { parquetFilesUnder, runSource, type RunInput } from '../services/cli/src/commands/run';
import { readEventsBronze, readEventsDbn } from '../services/cli/src/commands/run-inputs';
import { bestCpuSecondsAsync, recordResult } from './results';

const minutes = Number(process.argv[2] ?? 30);
const seed = Number(process.argv[3] ?? 1);
const RUNS = Number(process.argv[4] ?? 3);

const best = (fn: () => Promise<void>): Promise<number> => bestCpuSecondsAsync(RUNS, fn, 1);

async function main(): Promise<void> {
  const cfg = defaultConfig();
  const dir = mkdtempSync(join(tmpdir(), 'bench-run-binary-'));
  try {
    const lines: string[] = [];
    simulateToJsonl({ seed, durationMs: minutes * 60_000 }, (l) => lines.push(l));
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, lines.join('\n') + '\n');
    const events = lines.map((l, i) => parseEventLine(l, i + 1));
    lines.length = 0;

    // DBN: the futures events as Databento would ship them (one file per schema), the rest as JSONL.
    const futures = events.filter((e): e is FuturesMbp10 | FuturesTrade => e.schema === 'futures.mbp10.v1' || e.schema === 'futures.trades.v1');
    const rest = events.filter((e) => e.schema !== 'futures.mbp10.v1' && e.schema !== 'futures.trades.v1');
    const meta = { seed, startNs: futures[0]!.ts_event_ns, durationNs: BigInt(minutes * 60 + 60) * 1_000_000_000n };
    const mbpPath = join(dir, 'es.mbp-10.dbn.zst');
    const trPath = join(dir, 'es.trades.dbn.zst');
    const mbpW = await DbnWriter.create(mbpPath, esSimMetadata(meta, 'mbp-10'), { compression: 'zstd' });
    const trW = await DbnWriter.create(trPath, esSimMetadata(meta, 'trades'), { compression: 'zstd' });
    const conv = new FuturesEventsToDbn({ instrumentId: ES_SIM_DEFAULTS.instrumentId });
    for (const ev of futures) {
      const out = conv.push(ev);
      for (const r of out.mbp10) await mbpW.write(r);
      for (const r of out.trades) await trW.write(r);
    }
    await mbpW.close();
    await trW.close();
    const restPath = join(dir, 'rest.jsonl');
    writeFileSync(restPath, rest.map((e) => formatEventLine(e)).join('\n') + '\n');
    rest.length = 0;
    futures.length = 0;

    // Bronze: the session's objects as `run` writes them.
    const lake = join(dir, 'lake');
    const bronze = new EmbeddedBronzeWriter({ cfg, root: lake, command: 'bench', inputs: [{ kind: 'file', path: jsonl, bytes: statSync(jsonl).size }] });
    for (const _ of bronze.tap(events)) void _;
    bronze.close();
    const objects = parquetFilesUnder(join(lake, 'bronze'));
    const total = events.length;
    events.length = 0;

    const runOver = async (inputs: RunInput[]): Promise<{ events: number; payloads: number }> => {
      const out = join(dir, 'payloads.jsonl');
      const st = await runEmbedded({ cfg, source: runSource(cfg, inputs), sinks: [new JsonlPayloadSink(out)], streams: 'single', progressEvery: 1e12 });
      rmSync(out, { force: true });
      return { events: st.events, payloads: st.payloads };
    };
    const dbnInputs: RunInput[] = [
      { path: mbpPath, format: 'dbn' },
      { path: trPath, format: 'dbn' },
      { path: restPath, format: 'jsonl' },
    ];
    const bronzeInputs: RunInput[] = objects.map((path) => ({ path, format: 'bronze' }));

    let dbnStats = { events: 0, payloads: 0 };
    let bronzeStats = { events: 0, payloads: 0 };
    let jsonlStats = { events: 0, payloads: 0 };
    const oursDbn = await best(async () => void (dbnStats = await runOver(dbnInputs)));
    const oursBronze = await best(async () => void (bronzeStats = await runOver(bronzeInputs)));
    const jsonlCpu = await best(async () => void (jsonlStats = await runOver([{ path: jsonl, format: 'jsonl' }])));
    let dbnDecoded = 0;
    const peerDbn = await best(async () => {
      dbnDecoded = 0;
      for (const p of [mbpPath, trPath]) for await (const b of readEventsDbn(p, { underlying: 'SPY', symbolRoot: 'ES' })) dbnDecoded += b.length;
    });
    let bronzeDecoded = 0;
    const peerBronze = await best(async () => {
      bronzeDecoded = 0;
      for (const p of objects) for (const b of readEventsBronze(p)) bronzeDecoded += b.length;
    });
    if (bronzeStats.events !== total || jsonlStats.events !== total) throw new Error(`run-binary: event counts differ (session ${total}, bronze ${bronzeStats.events}, jsonl ${jsonlStats.events})`);
    if (bronzeStats.payloads !== jsonlStats.payloads) throw new Error(`run-binary: payload counts differ (bronze ${bronzeStats.payloads}, jsonl ${jsonlStats.payloads})`);
    const jsonlRate = Math.round(total / jsonlCpu);
    const size = (p: string) => (statSync(p).size / 1e6).toFixed(1);
    console.log(JSON.stringify({ bench: 'run-binary', minutes, seed, events: total, dbn: { ...dbnStats, cpu_s: oursDbn, decode_cpu_s: peerDbn, decoded: dbnDecoded }, bronze: { ...bronzeStats, cpu_s: oursBronze, decode_cpu_s: peerBronze, objects: objects.length }, jsonl_cpu_s: jsonlCpu }));
    const common = `Best of ${RUNS} runs after one untimed run, CPU time, in-process (runSource → runEmbedded 'single' → JsonlPayloadSink, as run --no-bronze); simulated session seed ${seed}, ${minutes} min.`;
    recordResult({
      name: 'run-dbn',
      ours: Math.round(dbnStats.events / oursDbn),
      peer: Math.round(dbnDecoded / peerDbn),
      unit: 'events/s',
      higher_is_better: true,
      notes:
        `run --input es.mbp-10.dbn.zst --input es.trades.dbn.zst --input rest.jsonl: ${dbnStats.events} events (${dbnDecoded} of them from DBN, ${size(mbpPath)} + ${size(trPath)} MB zstd), ${dbnStats.payloads} payloads. ` +
        `Peer = decode-only of the two DBN files (decoder + the feed dbn mapping to events). The same session as one JSONL through run: ${jsonlRate} events/s. ${common} ` +
        'What bounds it: no longer the decoder (in a profile of the run the DBN decode + mapping is under a fifth, its largest part the BigInt → ' +
        'float prices; the event ids are fnv1a64 in int32 limbs since session 13); the engine on more events (one MBP-10 record per book change), ' +
        'the payload JSON, the garbage collector and the merge of three inputs are the rest (run-jsonl has the split).',
    });
    recordResult({
      name: 'run-bronze',
      ours: Math.round(bronzeStats.events / oursBronze),
      peer: Math.round(bronzeDecoded / peerBronze),
      unit: 'events/s',
      higher_is_better: true,
      notes:
        `run over the session's ${objects.length} Bronze objects (as run writes them under DATA_ROOT; heartbeats held once per stream, kept once): ${bronzeStats.events} events, ${bronzeStats.payloads} payloads (identical count to the JSONL run). ` +
        `Peer = decode-only of the same objects (Parquet → rows → events). The same session as one JSONL through run: ${jsonlRate} events/s. ${common} ` +
        'What bounds it: as run-jsonl, the engine, the payload JSON, guard and merge; the Bronze decode it shares with replay --from-lake ' +
        '(parquet-wasm → Arrow IPC → each column once → one compiled object literal per event, readLakeEvents) is the peer.',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
