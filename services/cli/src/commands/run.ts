// `snap-engine run --input FILE.jsonl --out FILE.jsonl`: the core over normalized events (the JSONL line format of
// @snap/core event-json), in file order, no servers. Writes one §6.4 payload per snap tick per line.
// Exit codes: 0 done · 1 runtime failure (unreadable file, bad input line — the message names the line and field)
// · 2 usage/config error.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { ConfigError, EventLineError, parseEventLine, type InputEvent } from '@snap/core';
import { createLogger, loadConfig } from '@snap/platform';
import { JsonlPayloadSink, runEmbedded } from '@snap/processor';

/** Parsed events of a JSONL file, in file order; blank lines are skipped, a bad line throws EventLineError. */
export async function* readEventsJsonl(path: string): AsyncGenerator<InputEvent> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    yield parseEventLine(line, lineNo);
  }
}

export function register(program: Command) {
  program
    .command('run')
    .description('run the core on normalized events from a JSONL file (file order) and write one §6.4 payload per snap tick per line')
    .requiredOption('--input <file>', 'input events, one JSON object per line (see @snap/core event-json)')
    .requiredOption('--out <file>', 'output payloads, one JSON object per line')
    .option('--progress-every <n>', 'progress log every N events', (v) => Number(v), 200_000)
    .action(async (opts: { input: string; out: string; progressEvery: number }) => {
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
      const sink = new JsonlPayloadSink(opts.out);
      const started = Date.now();
      // The one lateness rule and the plausibility check (as in the processor): refused records are logged, the first
      // ones each, then counted in the final line.
      let refused = 0;
      const onDeadLetter = (ev: InputEvent, reason: string, errorClass: string) => {
        if (++refused <= 20) log.warn('record dead-lettered', { schema: ev.schema, key: ev.key, event_id: ev.event_id, error_class: errorClass, reason });
        else if (refused === 21) log.warn('more records dead-lettered; counted in the final line');
      };
      try {
        const stats = await runEmbedded({
          cfg,
          source: readEventsJsonl(opts.input),
          sinks: [sink],
          streams: 'single',
          onDeadLetter,
          progressEvery: opts.progressEvery,
          onProgress: (s) => log.info('progress', { events: s.events, payloads: s.payloads, events_per_s: Math.round(s.events / Math.max(1e-3, (Date.now() - started) / 1000)) }),
        });
        log.info('run complete', { input: opts.input, out: opts.out, events: stats.events, skipped_other_underlyings: stats.skipped, payloads: stats.payloads, dead_lettered: stats.deadLettered, clamped: stats.clamped, wall_ms: Date.now() - started });
      } catch (e) {
        await sink.close().catch(() => undefined);
        if (e instanceof EventLineError) {
          process.stderr.write(`snap-engine run: ${opts.input}: ${e.message}\n`);
          process.exitCode = 1;
          return;
        }
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          process.stderr.write(`snap-engine run: cannot read ${opts.input}: no such file\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
    });
}
