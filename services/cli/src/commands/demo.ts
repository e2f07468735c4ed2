// `snap-engine demo` (also `npm run demo`): the embedded default, no servers — the simulator → in-process bus →
// the core → Gold Parquet (ZSTD) under DATA_ROOT, with a live summary on stderr and a final report on stdout.
// Same seed (and config) ⇒ byte-identical signal rows. With --serve it also serves the live dashboard (the gateway,
// fed in-process), paces the simulation at --speed × real time so there is something to watch, and keeps serving
// the last tick after the simulation until Ctrl-C. Without --serve it runs flat out and exits (CI, scripts).
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, simulateMarket, simulateSession, type Config, type InputEvent, type SessionDensity } from '@snap/core';
import { createLogger, loadConfig, systemClock, type Logger } from '@snap/platform';
import { FakeMassiveServer, generateOptionChain, InProcessBusSink, MassiveFeed, seededMarket, startDatabentoFakeDemo } from '@snap/feeds';
import { GoldParquetSink, JsonlPayloadSink, LiveSummarySink, runEmbedded, type EmbeddedSink } from '@snap/processor';
import { GatewayError, startEmbeddedGateway, type EmbeddedGateway } from '@snap/gateway';
import { parseDurationMs } from '../args';
import { EmbeddedBronzeWriter } from '@snap/lake-sink';

const seedArg = (text: string) => {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`expected a non-negative integer seed (got ${JSON.stringify(text)})`);
  return Number(text);
};

const portArg = (text: string) => {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 65535) throw new InvalidArgumentError(`expected a TCP port 0-65535 (got ${JSON.stringify(text)})`);
  return Number(text);
};

const speedArg = (text: string) => {
  const x = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(x)) throw new InvalidArgumentError(`expected a non-negative speed factor, 0 = as fast as possible (got ${JSON.stringify(text)})`);
  return x;
};

/**
 * Releases events when wall time catches up with event time / speed (speed 0: no pacing). Sleeps only when more than
 * a few ms ahead, so a burst of events at one instant goes through at once. Ends early, cleanly, when `stop` aborts
 * (the run then finishes like a shorter session: files flushed, report printed). Shell code: the core never sees
 * the wall clock.
 */
export async function* paced(events: Iterable<InputEvent> | AsyncIterable<InputEvent>, speed: number, stop?: AbortSignal, nowMs: () => number = Date.now): AsyncGenerator<InputEvent> {
  let t0: bigint | null = null;
  let w0 = 0;
  for await (const ev of events) {
    if (stop?.aborted) return;
    if (speed > 0) {
      if (t0 === null) {
        t0 = ev.ts_event_ns;
        w0 = nowMs();
      }
      const ahead = w0 + Number(ev.ts_event_ns - t0!) / 1e6 / speed - nowMs();
      if (ahead > 4) {
        try {
          await sleep(ahead, undefined, { signal: stop });
        } catch {
          return; // aborted while waiting
        }
      }
    }
    yield ev;
  }
}

/**
 * `--feed massive-fake`: the live Massive adapter end to end on one machine — a local server speaking Massive's
 * WebSocket + REST protocol, the real MassiveFeed (auth, subscriptions, strike manager, greeks poller), and the
 * in-process bus (ordering guard, live heartbeats, cross-stream merge) in front of the engine. Event time follows the
 * wall clock, so `durationMs` is wall time.
 */
async function startMassiveFake(cfg: Config, log: Logger, seed: number, durationMs: number, stop: AbortSignal) {
  const underlying = cfg.underlyings[0]!;
  const apiKey = 'demo-fake-massive-key';
  const spot = 676;
  const intervalMs = 100;
  const startMs = Date.now();
  const server = await FakeMassiveServer.start({
    apiKey,
    seed,
    autoplayMs: intervalMs,
    source: seededMarket({ seed, underlying, spot, startMs, stepMs: intervalMs }),
    chain: { [underlying]: generateOptionChain({ seed, underlying, spot, asOfMs: startMs }) },
    logger: log.child({ name: 'fake-massive' }),
  });
  const sink = new InProcessBusSink({ latePolicy: cfg.feeds.late_policy, heartbeatMs: 0, clock: systemClock, logger: log, defaultKey: underlying });
  const massive = { ...cfg.massive, ws_stocks_url: server.wsUrl('stocks'), ws_options_url: server.wsUrl('options'), rest_url: server.restUrl };
  const feed = new MassiveFeed({ config: { ...cfg, massive }, apiKey, sink, logger: log.child({ name: 'massive-feed' }) });
  await feed.start();
  sink.startLiveHeartbeats([underlying], cfg.feeds.live_heartbeat_lag_ms, 'massive_ws');
  const finished = (async () => {
    await Promise.race([sleep(durationMs, undefined, { signal: stop }).catch(() => undefined), feed.done.catch(() => undefined)]);
    await feed.stop();
    await sink.close();
    await server.close();
    return sink.deadLetters.length;
  })();
  return { events: sink.events(), finished };
}

export function register(program: Command) {
  program
    .command('demo')
    .description('embedded demo: simulator → in-process bus → core → Gold Parquet (ZSTD) under DATA_ROOT, with a live summary')
    .option('--seed <n>', 'simulator seed', seedArg, 1)
    .addOption(new Option('--duration <dur>', 'event-time length of the simulated session (10m, 90s, 500ms; a bare number is seconds)').argParser(parseDurationMs).default(5 * 60_000, '5m'))
    .option('--out <dir>', 'lake root for the Gold Parquet (default: config lake.data_root / DATA_ROOT)')
    .option('--payloads <file>', 'also write every §6.4 payload as JSONL')
    .option('--no-bronze', 'do not write the input events as Bronze Parquet (beside Gold, with a _meta/ run manifest; docs/lake.md)')
    .option('--serve [port]', 'serve the live dashboard (default port: gateway.port); keeps serving after the simulation until Ctrl-C', portArg)
    .option('--speed <x>', 'pace event time at x × real time (default 1 with --serve, else 0 = as fast as possible)', speedArg)
    .addOption(new Option('--density <d>', 'simulated quote density: normal, or realistic (SPY regular-hours: hundreds of quotes/s at the open)').choices(['normal', 'realistic']).default('normal'))
    .addOption(
      new Option(
        '--feed <feed>',
        'sim: the seeded market simulator; massive-fake: the live Massive adapter against a local fake Massive server (--duration is then wall time, default 30s); databento-fake: the ES book and trades over the Databento live protocol from a local fake gateway beside the simulated SPY feed, barrier.source=mbp10',
      )
        .choices(['sim', 'massive-fake', 'databento-fake'])
        .default('sim'),
    )
    .action(async (opts: { seed: number; duration: number; out?: string; payloads?: string; serve?: number | true; speed?: number; feed: 'sim' | 'massive-fake' | 'databento-fake'; density: SessionDensity; bronze: boolean }, cmd: Command) => {
      let cfg: Config;
      try {
        cfg = loadConfig({ file: program.opts().config });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`snap-engine demo: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      // The Databento live feed brings the ES book: the demo shows the MBP-10 barrier reading it.
      if (opts.feed === 'databento-fake') cfg = { ...cfg, barrier: { ...cfg.barrier, source: 'mbp10' } };
      const log = createLogger({ name: 'demo', level: cfg.log.level });
      const dataRoot = opts.out ?? cfg.lake.data_root;
      const underlying = cfg.underlyings[0]!;
      // Every configured underlying is simulated side by side (SPY+ES, QQQ+NQ, IWM+RTY); the live Massive fake serves the first.
      const underlyings = [...new Set(cfg.underlyings)];
      const gold = new GoldParquetSink(dataRoot, cfg.lake.flush_rows);
      const summary = new LiveSummarySink();
      const sinks: EmbeddedSink[] = [gold, summary];
      const payloads = opts.payloads ? new JsonlPayloadSink(opts.payloads) : null;
      if (payloads) sinks.push(payloads);
      let gateway: EmbeddedGateway | null = null;
      const stop = new AbortController();
      if (opts.serve !== undefined) {
        try {
          gateway = await startEmbeddedGateway({ cfg, log, port: opts.serve === true ? undefined : opts.serve });
        } catch (e) {
          if (e instanceof GatewayError) {
            // demo takes its port as --serve PORT (the gateway command's --port does not exist here).
            process.stderr.write(`snap-engine demo: ${e.message.replace(/or --port\)/, 'or snap-engine demo --serve PORT)')}\n`);
            process.exitCode = 1;
            return;
          }
          throw e;
        }
        sinks.push(gateway.sink);
        // Serving: Ctrl-C ends the simulation early but cleanly, then stops the server (no half-written Parquet).
        const onSignal = (sig: NodeJS.Signals) => {
          if (stop.signal.aborted) return;
          log.info('demo stopping', { signal: sig });
          stop.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        // One plain line a user (or a test) can find among the summary lines: where to point the browser.
        process.stderr.write(`dashboard: ${gateway.server.url}\n`);
      }
      const speed = opts.speed ?? (gateway ? 1 : 0);
      const started = Date.now();
      log.info('demo start', { seed: opts.seed, duration_ms: opts.duration, underlyings: opts.feed === 'sim' ? underlyings : [underlying], density: opts.density, data_root: dataRoot, barrier_source: cfg.barrier.source, speed, dashboard: gateway?.server.url });
      let source: Iterable<InputEvent> | AsyncIterable<InputEvent>;
      let liveFinished: Promise<number> | null = null;
      if (opts.feed === 'massive-fake') {
        const wallMs = cmd.getOptionValueSource('duration') === 'default' ? 30_000 : opts.duration;
        const live = await startMassiveFake(cfg, log, opts.seed, wallMs, stop.signal);
        process.stderr.write(`massive-fake: live feed for ${wallMs / 1000}s of wall time\n`);
        source = live.events;
        liveFinished = live.finished;
      } else if (opts.feed === 'databento-fake') {
        const session = simulateSession({ seed: opts.seed, durationMs: opts.duration, underlying, ...(opts.density !== 'normal' ? { density: opts.density } : {}) });
        const live = await startDatabentoFakeDemo({ session, underlying, symbolRoot: cfg.basis.futures_symbol, logger: log });
        process.stderr.write(`databento-fake: ES MBP-10 + trades over the Databento live protocol from the fake gateway at ${live.gateway}\n`);
        source = gateway || speed > 0 ? paced(live.events, speed, stop.signal) : live.events;
        liveFinished = live.finished.then((r) => r.deadLetters);
      } else {
        const common = { seed: opts.seed, durationMs: opts.duration, ...(opts.density !== 'normal' ? { density: opts.density } : {}) };
        // One underlying: exactly the single session it always was (same seed ⇒ same rows as before).
        const events = underlyings.length > 1 ? simulateMarket({ ...common, underlyings }) : simulateSession({ ...common, underlying });
        source = gateway || speed > 0 ? paced(events, speed, stop.signal) : events;
      }
      // Bronze beside Gold: the input events as the lake sink would have written them from Kafka (replay --from-lake).
      const bronze = opts.bronze
        ? new EmbeddedBronzeWriter({
            cfg,
            root: dataRoot,
            command: 'demo',
            inputs: [opts.feed === 'sim' ? { kind: 'simulator', seed: opts.seed, duration_ms: opts.duration, underlyings, ...(opts.density !== 'normal' ? { density: opts.density } : {}) } : { kind: 'live', feed: opts.feed }],
            logger: log,
          })
        : null;
      if (bronze) source = bronze.tap(source);
      const stats = await runEmbedded({
        cfg,
        source,
        sinks,
        streams: 'by-schema',
        // Paced runs see few events per second: update the summary's events/s more often.
        progressEvery: gateway || liveFinished ? 50 : 1000,
        onProgress: (s) => {
          summary.events = s.events;
        },
      });
      summary.events = stats.events;
      const bronzeWritten = bronze?.close() ?? null;
      const deadLetters = liveFinished ? await liveFinished : 0;
      const wallMs = Date.now() - started;
      const report = {
        feed: opts.feed,
        seed: opts.seed,
        underlyings: opts.feed === 'sim' ? underlyings : [underlying],
        event_time_ms: opts.feed === 'sim' ? opts.duration : stats.firstNs === null ? 0 : Number((stats.lastNs! - stats.firstNs) / 1_000_000n),
        events: stats.events,
        dead_letters: deadLetters,
        payloads: stats.payloads,
        signal_rows: stats.signalRows,
        signals: summary.counts,
        wall_ms: wallMs,
        events_per_s: Math.round(stats.events / Math.max(1e-3, wallMs / 1000)),
        files: gold.files.map((f) => ({ path: f.path, rows: f.rows, bytes: f.bytes })),
        bronze: bronzeWritten && { run_id: bronzeWritten.run_id, manifest: bronzeWritten.manifest, objects: bronzeWritten.objects, rows: bronzeWritten.rows, bytes: bronzeWritten.bytes },
      };
      if (stop.signal.aborted) Object.assign(report, { interrupted: true });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      if (gateway) {
        if (!stop.signal.aborted) {
          process.stderr.write(`simulation finished; the dashboard keeps showing the last tick at ${gateway.server.url} (Ctrl-C to stop)\n`);
          await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
        }
        await gateway.stop();
      }
    });
}
