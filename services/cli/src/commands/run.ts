// `snap-engine run --input FILE --out FILE.jsonl`: the core over normalized events, no servers. Writes one §6.4
// payload per snap tick per line. An input is JSONL (the line format of @snap/core event-json, in file order), a
// Databento DBN file or a Bronze Parquet object (run-inputs.ts); --input repeats, and several inputs are merged by
// event time.
// Exit codes: 0 done · 1 runtime failure (unreadable file, bad input line — the message names the line and field)
// · 2 usage/config error · 3 done, but some records were dead-lettered. No payload at all is a failure (exit 1,
// with the reason: usually a missing input, named with its fix), and --out appears only on success (temp + rename).
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import { ConfigError, EventLineError, futuresSymbolOf, readEventLine, type Config, type InputEvent } from '@snap/core';
import { AtomicOutput, EXIT, createLogger, loadConfig } from '@snap/platform';
import { JsonlPayloadSink, runEmbedded } from '@snap/processor';
import { tzArg, underlyingArg } from '../args';
import { EmbeddedReport } from '../reporting';
import { EmbeddedBronzeWriter } from '@snap/lake-sink';
import { InputFileError, inputFormatOf, mergeInputs, readEventsBronze, readEventsDbn, type EventBatches, type InputFormat } from './run-inputs';

/** Bytes per read (a line may straddle reads: its start is moved to the front of the buffer before the next one). */
const READ = 1 << 20;

/**
 * Parsed events of a JSONL file, in file order; blank lines are skipped, a bad line throws EventLineError.
 * The file is read in 1 MiB chunks and split into lines as bytes; each line is decoded from its bytes by
 * readEventLine (core: the byte decoder, no UTF-8 decoding, no JSON.parse; what is outside its subset, or bad, decoded
 * to a string and parsed by parseEventLine, which accepts it or names the line and field). A line ends at "\n", and a
 * "\r" before it is dropped (CRLF files), as readline with crlfDelay: Infinity did.
 * Synchronous (readSync): an async generator's promise per event cost a third of `run`'s time outside the engine,
 * and runEmbedded iterates a synchronous source without one.
 */
export function* readEventsJsonl(path: string, onBytes?: (bytesRead: number) => void): Generator<InputEvent> {
  let lineNo = 0;
  let bytesRead = 0;
  const fd = openSync(path, 'r');
  let buf = Buffer.allocUnsafe(2 * READ);
  /** buf[start, len): the bytes read and not yet consumed (the start of an unfinished line). */
  let start = 0;
  let len = 0;
  try {
    for (;;) {
      if (start > 0) {
        buf.copyWithin(0, start, len);
        len -= start;
        start = 0;
      }
      if (buf.length - len < READ) {
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(2 * buf.length);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, READ, null);
      if (n === 0) break;
      bytesRead += n;
      onBytes?.(bytesRead);
      let nl = buf.indexOf(10, len);
      len += n;
      // indexOf searches to the end of the buffer: a newline beyond len is a stale byte, not input.
      while (nl >= 0 && nl < len) {
        lineNo++;
        const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
        const ev = readEventLine(buf, start, end, lineNo);
        start = nl + 1;
        if (ev !== null) yield ev;
        nl = buf.indexOf(10, start);
      }
    }
  } finally {
    closeSync(fd);
  }
  if (start < len) {
    lineNo++;
    const end = buf[len - 1] === 13 ? len - 1 : len;
    const ev = readEventLine(buf, start, end, lineNo);
    if (ev !== null) yield ev;
  }
}

/** A JSONL file's events in batches (for the merge of several inputs); a bad line names this file. */
function* jsonlBatches(path: string): Generator<InputEvent[]> {
  let out: InputEvent[] = [];
  try {
    for (const ev of readEventsJsonl(path)) {
      out.push(ev);
      if (out.length === 1024) {
        yield out;
        out = [];
      }
    }
  } catch (e) {
    if (e instanceof EventLineError) throw new InputFileError(`${path}: ${e.message}`, path);
    throw e;
  }
  if (out.length > 0) yield out;
}

function* flatten(batches: Iterable<InputEvent[]>): Generator<InputEvent> {
  for (const b of batches) for (let i = 0; i < b.length; i++) yield b[i]!;
}

export interface RunInput {
  path: string;
  format: InputFormat;
}

/**
 * The events `run` reads from its inputs. One JSONL file (or one Bronze object) is read synchronously, in file order
 * (runEmbedded then needs no promise per event); several inputs, or DBN, go through the merge by event time.
 * `onBytes` follows the read position of a single JSONL input.
 */
export function runSource(cfg: Config, inputs: readonly RunInput[], opts: { underlying?: string; onBytes?: (bytesRead: number) => void } = {}): Iterable<InputEvent> | AsyncIterable<InputEvent> {
  if (inputs.length === 1 && inputs[0]!.format === 'jsonl') return readEventsJsonl(inputs[0]!.path, opts.onBytes);
  if (inputs.length === 1 && inputs[0]!.format === 'bronze') return flatten(readEventsBronze(inputs[0]!.path));
  const underlying = opts.underlying ?? cfg.underlyings[0]!;
  // The underlying's own futures contract (futures.contracts: NQ for QQQ), as `feed dbn` names unmapped instruments.
  const symbolRoot = futuresSymbolOf(cfg, underlying);
  const batches: EventBatches[] = inputs.map(({ path, format }) =>
    format === 'dbn' ? readEventsDbn(path, { underlying, symbolRoot }) : format === 'bronze' ? readEventsBronze(path) : jsonlBatches(path),
  );
  return mergeInputs(batches);
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Every .parquet file below `dir`, in path order (the merge orders their events by time anyway). */
export function parquetFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...parquetFilesUnder(p));
    else if (e.name.endsWith('.parquet')) out.push(p);
  }
  return out.sort();
}

const fileBytes = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return -1; // unreadable: the run reports it when it opens the file
  }
};

export function register(program: Command) {
  program
    .command('run')
    .description('run the core on normalized events (JSONL, DBN or Bronze Parquet files) and write one §6.4 payload per snap tick per line')
    .requiredOption(
      '--input <file>',
      'input events: JSONL, one JSON object per line (the input contract, with an example line per schema: docs/data.md); a Databento DBN file (.dbn, .dbn.zst); a Bronze Parquet object (.parquet), or a directory of them (DATA_ROOT/bronze). Repeat it to merge several inputs by event time',
      collect,
    )
    .requiredOption('--out <file>', 'output payloads, one JSON object per line (README "Reading a payload"); written only when the run succeeds')
    .option('--tz <zone>', 'time zone for the times printed (IANA name, e.g. America/New_York)', tzArg, 'UTC')
    .option('--progress-every <n>', 'progress log every N events', (v) => Number(v), 200_000)
    .option('--underlying <sym>', 'the underlying DBN futures data serves = the events\' key (default: first of config underlyings), as feed dbn', underlyingArg)
    .option('--no-bronze', 'do not write the input events as Bronze Parquet under DATA_ROOT (with a _meta/ run manifest; docs/lake.md)')
    .action(async (opts: { input: string[]; out: string; progressEvery: number; tz: string; bronze: boolean; underlying?: string }) => {
      const log = createLogger({ name: 'run' });
      let cfg;
      try {
        cfg = loadConfig({ file: program.opts().config });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`snap-engine run: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      if (opts.underlying !== undefined && !cfg.underlyings.includes(opts.underlying)) {
        process.stderr.write(`snap-engine run: --underlying ${opts.underlying} is not a configured underlying (${cfg.underlyings.join(',')}; set UNDERLYINGS)\n`);
        process.exitCode = EXIT.USAGE;
        return;
      }
      let inputBytes = 0;
      const inputs: RunInput[] = [];
      for (const given of opts.input) {
        let paths: string[];
        try {
          // A directory stands for the Bronze objects below it (e.g. DATA_ROOT/bronze of an earlier run).
          paths = statSync(given).isDirectory() ? parquetFilesUnder(given) : [given];
          for (const path of paths) {
            inputBytes += statSync(path).size;
            inputs.push({ path, format: paths.length === 1 && paths[0] === given ? inputFormatOf(path) : 'bronze' });
          }
        } catch {
          process.stderr.write(`snap-engine run: cannot read ${given}: no such file\n`);
          process.exitCode = EXIT.FAILED;
          return;
        }
        if (paths.length === 0) {
          process.stderr.write(`snap-engine run: ${given} is a directory with no .parquet file below it (a directory input is Bronze: DATA_ROOT/bronze)\n`);
          process.exitCode = EXIT.FAILED;
          return;
        }
      }
      // Progress in bytes read for one JSONL file; in events otherwise (a DBN or Parquet position is not a byte count).
      const byBytes = inputs.length === 1 && inputs[0]!.format === 'jsonl';
      const label = `run ${opts.input.map((p) => basename(p)).join(' + ')}`;
      // Written beside --out under a temporary name and renamed on success: a failed run leaves no output file.
      const output = new AtomicOutput(opts.out);
      const sink = new JsonlPayloadSink(output.tempPath);
      const report = new EmbeddedReport({ command: 'run', cfg, label, unit: byBytes ? 'bytes' : 'events', total: byBytes ? inputBytes : undefined, tz: opts.tz });
      const started = Date.now();
      // The one lateness rule and the plausibility check (as in the processor): refused records are logged, the first
      // ones each, then counted in the final line.
      let refused = 0;
      const onDeadLetter = (ev: InputEvent, reason: string, errorClass: string) => {
        if (++refused <= 20) log.warn('record dead-lettered', { schema: ev.schema, key: ev.key, event_id: ev.event_id, error_class: errorClass, reason });
        else if (refused === 21) log.warn('more records dead-lettered; counted in the final line');
      };
      // Bronze under DATA_ROOT: the input events as the lake sink would have written them from Kafka (replay --from-lake).
      // Bronze inputs are Bronze already: writing them again would only rewrite the objects being read.
      const fromBronze = inputs.some((i) => i.format === 'bronze');
      if (opts.bronze && fromBronze) log.info('Bronze not written: the input is Bronze already', { data_root: cfg.lake.data_root });
      const bronze = opts.bronze && !fromBronze ? new EmbeddedBronzeWriter({ cfg, root: cfg.lake.data_root, command: 'run', inputs: inputs.map(({ path }) => ({ kind: 'file', path: resolve(path), bytes: fileBytes(path) })), logger: log }) : null;
      try {
        const events = report.tap(runSource(cfg, inputs, { underlying: opts.underlying, onBytes: (b) => (report.position = b) }));
        const stats = await runEmbedded({
          cfg,
          source: bronze ? bronze.tap(events) : events,
          sinks: [sink, report.sink],
          streams: 'single',
          onDeadLetter,
          progressEvery: opts.progressEvery,
        });
        const bronzeWritten = bronze?.close();
        log.info('run complete', { input: opts.input.length === 1 ? opts.input[0] : opts.input, out: opts.out, events: stats.events, skipped_other_underlyings: stats.skipped, payloads: stats.payloads, dead_lettered: stats.deadLettered, clamped: stats.clamped, wall_ms: Date.now() - started, ...(bronzeWritten ? { bronze: { root: cfg.lake.data_root, run_id: bronzeWritten.run_id, objects: bronzeWritten.objects, rows: bronzeWritten.rows } } : {}) });
        const { exitCode } = report.finish(stats, { input: opts.input.join(', '), out: opts.out });
        if (exitCode === EXIT.FAILED) output.abort();
        else output.commit();
        process.exitCode = exitCode;
      } catch (e) {
        await sink.close().catch(() => undefined);
        output.abort();
        report.progress.finish();
        if (e instanceof EventLineError) {
          // Only the single-JSONL path throws it bare (the merge names the file in an InputFileError).
          process.stderr.write(`snap-engine run: ${opts.input[0]}: ${e.message}\n`);
          process.exitCode = 1;
          return;
        }
        if (e instanceof InputFileError) {
          process.stderr.write(`snap-engine run: ${e.message}\n`);
          process.exitCode = 1;
          return;
        }
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          process.stderr.write(`snap-engine run: cannot read ${(e as NodeJS.ErrnoException).path ?? opts.input.join(', ')}: no such file\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
    });
}
