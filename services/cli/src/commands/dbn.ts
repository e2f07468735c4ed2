// `snap-engine dbn dump FILE [--json]` and `snap-engine dbn simulate ...`.
//
// dump prints the metadata, then one line per record. With --json every line is a JSON object with Databento's
// field names (64-bit integers as decimal strings, c_char as one-character strings, MBP levels under `levels`);
// the first line is the metadata object. Without --json the lines are a readable one-record-per-line text form.
// A corrupt or truncated file prints every good record, then the error with its byte offset on stderr, exit 1.
import { Command, Option } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Progress, createLogger, formatDuration, formatTime, printSummary } from '@snap/platform';
import { DbnError, DbnWriter, EsSimStep, FuturesEventsToDbn, ES_SIM_DEFAULTS, JsonLinesBuffer, dbnFrames, esSimMetadata, metadataToJson, recordToText, simulateEs } from '@snap/dbn';
// The core market simulator is used here only as an event source.
import { MarketSim, mulberry32 } from '@snap/core';
import { parseDurationMs, tzArg } from '../args';

async function writeOut(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
}

async function writeBytes(b: Uint8Array): Promise<void> {
  if (b.length > 0 && !process.stdout.write(b)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
}

async function dump(file: string, opts: { json?: boolean; limit?: string; tz: string }): Promise<void> {
  const limit = opts.limit === undefined ? Infinity : Number(opts.limit);
  let n = 0;
  // Progress on stderr in event time (the metadata's start..end), then the record count and the first/last event
  // times in the display zone: stdout stays the records.
  const started = Date.now();
  let progress: Progress | null = null;
  let spanStart: bigint | null = null;
  const position = (ts: bigint) => (spanStart !== null && ts >= spanStart ? Number((ts - spanStart) / 1_000_000n) / 1000 : n);
  let firstTs: bigint | null = null;
  let lastTs: bigint | null = null;
  const finish = (error?: string) => {
    if (lastTs !== null) progress?.update(position(lastTs), { records: Math.min(n, limit) });
    progress?.finish();
    printSummary('dbn dump', {
      file,
      records: Math.min(n, limit),
      first_event: firstTs === null ? '-' : formatTime(firstTs, opts.tz),
      last_event: lastTs === null ? '-' : formatTime(lastTs, opts.tz),
      wall_time: formatDuration((Date.now() - started) / 1000),
      ...(error ? { error } : {}),
    });
  };
  // --json lines are formatted straight from the decoder's record views into bytes (no record objects, no BigInt);
  // the text form decodes each record.
  const out = new JsonLinesBuffer();
  let sentMeta = false;
  // ts_event as a BigInt only where it is used (first, last, every 4096th record), not one per record: the last
  // record's header is read back at the end of each frame (its bytes stay valid until the next frame is asked for).
  let lastFrame: { parser: { dv: DataView } } | undefined;
  let last = -1;
  const lastEvent = () => {
    if (lastFrame && last >= 0) lastTs = lastFrame.parser.dv.getBigUint64(last + 8, true);
  };
  try {
    for await (const frame of dbnFrames(file)) {
      const { metadata, parser } = frame;
      lastFrame = frame;
      if (!sentMeta) {
        sentMeta = true;
        const spanS = metadata.end !== null && metadata.end > metadata.start ? Number((metadata.end - metadata.start) / 1_000_000n) / 1000 : undefined;
        if (spanS) spanStart = metadata.start;
        // Records on a terminal and a bar on the same terminal would tear each other: the bar only when stdout goes elsewhere.
        progress = new Progress({ label: 'dbn dump', unit: spanS ? 's of event time' : 'records', total: spanS, mode: process.stdout.isTTY ? 'off' : 'auto' });
        out.appendLine(opts.json ? JSON.stringify(metadataToJson(metadata)) : `# ${JSON.stringify(metadataToJson(metadata))}`);
      }
      for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) {
        if (n++ >= limit) break;
        last = b;
        if (firstTs === null) firstTs = parser.dv.getBigUint64(b + 8, true);
        if ((n & 4095) === 0) progress?.update(position(parser.dv.getBigUint64(b + 8, true)), { records: n });
        if (opts.json) out.appendRecord(parser, b);
        else {
          const ts = parser.dv.getBigUint64(b + 8, true);
          // The raw ns time stays first (scripts cut it); the same instant follows, readable and labelled with its zone.
          const text = recordToText(parser.decodeCurrent(b));
          const sp = text.indexOf(' ');
          out.appendLine(sp > 0 ? `${text.slice(0, sp)} ${formatTime(ts, opts.tz)}${text.slice(sp)}` : text);
        }
        if (out.full) await writeBytes(out.take());
      }
      lastEvent();
      last = -1; // the next frame may move the bytes: an error before its first record keeps lastTs as is
      if (n > limit) break;
    }
    await writeBytes(out.take());
    finish();
  } catch (e) {
    lastEvent();
    await writeBytes(out.take());
    if (e instanceof DbnError) {
      finish(e.message);
      process.stderr.write(`snap-engine dbn dump: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

interface SimulateOpts { seed: string; /** ms */ duration: number; out: string; start: string; rate: string; startPrice: string; source: string; spySpot: string }

/**
 * ES records from core/sim's agent-based market (SPY book, dealers, options; ES rendered through a basis), so DBN
 * files can be paired with the same run's SPY and options events. Steps of 100 ms, as the market sim expects.
 */
function* marketSteps(seed: number, startNs: bigint, durationNs: bigint, spySpot: number): Generator<EsSimStep> {
  const sim = new MarketSim({ rng: mulberry32(seed), startNs, spot: spySpot });
  const conv = new FuturesEventsToDbn({ instrumentId: ES_SIM_DEFAULTS.instrumentId });
  const end = startNs + durationNs;
  while (sim.nowNs < end) {
    sim.step(100);
    const step: EsSimStep = { mbp10: [], trades: [] };
    for (const ev of sim.drain()) {
      if (ev.ts_event_ns >= end) continue;
      if (ev.schema !== 'futures.mbp10.v1' && ev.schema !== 'futures.trades.v1') continue;
      const out = conv.push(ev);
      step.mbp10.push(...out.mbp10);
      step.trades.push(...out.trades);
    }
    yield step;
  }
}

async function simulate(opts: SimulateOpts): Promise<void> {
  const log = createLogger({ name: 'dbn-simulate' });
  if (opts.source !== 'es-book' && opts.source !== 'market') throw new Error(`--source must be es-book or market, got "${opts.source}"`);
  const seed = Number(opts.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${opts.seed}"`);
  const startMs = Date.parse(opts.start);
  if (Number.isNaN(startMs)) throw new Error(`--start must be an ISO-8601 time, got "${opts.start}"`);
  const sim = {
    seed,
    startNs: BigInt(startMs) * 1_000_000n,
    durationNs: BigInt(opts.duration) * 1_000_000n,
    eventsPerSecond: Number(opts.rate),
    startPrice: Number(opts.startPrice),
  };
  mkdirSync(opts.out, { recursive: true });
  const day = opts.start.slice(0, 10).replace(/-/g, '');
  const mbpPath = join(opts.out, `glbx-mdp3-${day}.mbp-10.dbn.zst`);
  const tradesPath = join(opts.out, `glbx-mdp3-${day}.trades.dbn.zst`);
  const mbpW = await DbnWriter.create(mbpPath, esSimMetadata(sim, 'mbp-10'), { compression: 'zstd' });
  const trW = await DbnWriter.create(tradesPath, esSimMetadata(sim, 'trades'), { compression: 'zstd' });
  const steps = opts.source === 'market' ? marketSteps(seed, sim.startNs, sim.durationNs, Number(opts.spySpot)) : simulateEs(sim);
  for (const step of steps) {
    for (const r of step.mbp10) await mbpW.write(r);
    for (const r of step.trades) await trW.write(r);
  }
  await mbpW.close();
  await trW.close();
  log.info('dbn simulate done', { source: opts.source, mbp10: { path: mbpPath, records: mbpW.recordsWritten }, trades: { path: tradesPath, records: trW.recordsWritten } });
  await writeOut(JSON.stringify({ mbp10: mbpPath, mbp10_records: mbpW.recordsWritten, trades: tradesPath, trades_records: trW.recordsWritten }) + '\n');
}

export function register(program: Command) {
  const dbn = program.command('dbn').description('Databento DBN files: dump, simulate');
  dbn
    .command('dump <file>')
    .description('print the metadata then every record (plain or zstd DBN v1-v3); errors name the byte offset')
    .option('--json', 'one JSON object per line with Databento field names (64-bit integers as strings)')
    .option('--limit <n>', 'stop after n records')
    .option('--tz <zone>', 'time zone of the readable times (text lines, summary); IANA name, e.g. America/New_York', tzArg, 'UTC')
    .action((file: string, opts: { json?: boolean; limit?: string; tz: string }) => dump(file, opts));
  dbn
    .command('simulate')
    .description('write a seeded simulated ES session as GLBX.MDP3 mbp-10 and trades DBN v3 zstd files')
    .option('--seed <n>', 'PRNG seed', '1')
    .addOption(new Option('--duration <d>', 'session length (e.g. 10m, 90s, 1h)').argParser(parseDurationMs).default(10 * 60_000, '10m'))
    .option('--out <dir>', 'output directory', 'dbn-data')
    .option('--start <iso>', 'session start (UTC)', '2026-01-15T14:30:00Z')
    .option('--rate <n>', 'mean book events per second', '20')
    .option('--start-price <px>', 'initial ES price (es-book source)', '6000')
    .option('--source <name>', "es-book: this package's ES book process; market: ES from core/sim's SPY market (ES ≈ 10·SPY + basis)", 'es-book')
    .option('--spy-spot <px>', 'initial SPY mid (market source)', '600.10')
    .action((opts) => simulate(opts));
}
