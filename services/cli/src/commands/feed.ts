// `snap-engine feed sim|dbn|massive`: every feed into Kafka through KafkaFeedSink (or, with --out, into the
// `run --input` JSONL format through the same ordered pipeline, so both paths carry identical events).
//
// Exit codes (all three commands):
//   0   done; every input record was produced
//   1   runtime failure (Kafka / schema registry unreachable, a send failed, the live feed stopped on its own)
//   2   usage or configuration error (message names the option or config key)
//   3   done, but some input was dead-lettered (a corrupt/truncated DBN file: its good records WERE produced and the
//       remaining files were replayed; the dead letter carries the byte offset) — distinct from 0 so scripts notice
//   130 / 143  a replay (sim, dbn) stopped by SIGINT / SIGTERM after flushing what was emitted (and saving --resume);
//       `feed massive` is live and a signal is its normal end: 0 after flushing
import { mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Config, InputEvent } from '@snap/core';
import { ConfigError, futuresSymbolOf } from '@snap/core';
import { DEADLETTER_TOPIC, INPUT_TOPICS, UnreachableError, applyTopics, createKafka, createLogger, formatDuration, loadConfig, preflight, printSummary, systemClock, topicName, type Logger } from '@snap/platform';
import { dbnFrames } from '@snap/dbn';
import {
  JsonlFeedSink,
  KafkaFeedSink,
  ProgressReporter,
  ReplayPacer,
  ResumePoint,
  ResumeFileError,
  SpeedError,
  feedMetricsRegistry,
  isTransientKafkaError,
  parseSpeed,
  serveFeedMetrics,
  replayEvents,
  runDbnFeed,
  type OrderedFeedSink,
  type Speed,
} from '@snap/feeds';
import { MassiveApiKeyError, MassiveFeed, registerMassiveMetrics, resolveMassiveApiKey } from '@snap/feeds';
import { SESSION_REGIMES, isSessionRegime, simulateMarket, simulateSession, type SessionDensity, type SessionRegime } from '@snap/core';
import { parseDurationMs, tzArg, underlyingArg } from '../args';
import { registerFeedDatabento } from './databento';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, DEAD_LETTERED: 3, SIGINT: 130, SIGTERM: 143 } as const;

class UsageError extends Error {
  override name = 'UsageError';
}

const parseIntArg = (text: string) => {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError(`expected an integer (got ${JSON.stringify(text)})`);
  return Number(text);
};

const parseSpeedArg = (text: string): Speed => {
  try {
    return parseSpeed(text);
  } catch (e) {
    throw new InvalidArgumentError((e as SpeedError).message);
  }
};

function parseStartNs(text: string): bigint {
  if (/^\d{16,19}$/.test(text)) return BigInt(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected an ISO time (2025-12-16T14:30:00Z) or Unix ns (got ${JSON.stringify(text)})`);
  return BigInt(ms) * 1_000_000n;
}

const densityArg = (text: string): SessionDensity => {
  if (text !== 'normal' && text !== 'realistic') throw new InvalidArgumentError(`expected normal or realistic (got ${JSON.stringify(text)})`);
  return text;
};

const regimeArg = (text: string): SessionRegime => {
  if (!isSessionRegime(text)) throw new InvalidArgumentError(`expected one of ${SESSION_REGIMES.join(', ')} (got ${JSON.stringify(text)})`);
  return text;
};

/** SIGINT/SIGTERM ask the running feed to stop between records; a second signal exits at once. */
function stopSignals(log: Logger) {
  let signal: NodeJS.Signals | null = null;
  const waiters: (() => void)[] = [];
  const handler = (s: NodeJS.Signals) => {
    if (signal) {
      log.warn('second signal: exiting without flushing', { signal: s });
      process.exit(s === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
    }
    signal = s;
    log.info('stopping: flushing what was emitted', { signal: s });
    for (const w of waiters.splice(0)) w();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped: () => signal !== null,
    wait: () => new Promise<void>((r) => (signal ? r() : waiters.push(r))),
    exitCode: () => (signal === 'SIGINT' ? EXIT.SIGINT : signal === 'SIGTERM' ? EXIT.SIGTERM : null),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * Runs `step` until it succeeds; transient Kafka errors (broker restarting, leaders being elected) are retried with a
 * pause, logged once. Anything else is thrown.
 */
async function patiently<T>(log: Logger, what: string, step: () => Promise<T>): Promise<T> {
  let since: number | null = null;
  for (;;) {
    try {
      const out = await step();
      if (since !== null) log.warn(`${what}: kafka available again`, { waited_s: Math.round((Date.now() - since) / 100) / 10 });
      return out;
    } catch (e) {
      if (!isTransientKafkaError(e)) throw e;
      if (since === null) {
        since = Date.now();
        log.warn(`${what}: kafka unavailable; retrying until it is back`, { error: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function ensureTopics(cfg: Config, log: Logger): Promise<void> {
  await patiently(log, 'topics apply', () => applyAndCheckTopics(cfg, log));
  await waitForLeaders(cfg, log);
}

/**
 * A topic just created has no leader on every broker yet: the first produce then fails with "This server is not the
 * leader for that topic-partition" (seen on a loaded CI machine). Wait until the metadata names a leader for every
 * partition the feed writes (the sink would also retry those, but a clean start is clearer).
 */
async function waitForLeaders(cfg: Config, log: Logger): Promise<void> {
  const topics = [...INPUT_TOPICS.map((s) => topicName(cfg, s)), topicName(cfg, DEADLETTER_TOPIC)];
  const admin = createKafka(cfg, { clientId: `${cfg.kafka.client_id}-feed-admin`, logger: log }).admin();
  const t0 = Date.now();
  let logged = false;
  for (;;) {
    let missing: string[] = [];
    try {
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics });
      missing = meta.topics.flatMap((t) => t.partitions.filter((p) => p.leader < 0 || p.isr.length === 0).map((p) => `${t.name}:${p.partitionId}`));
    } catch (e) {
      if (!isTransientKafkaError(e)) {
        await admin.disconnect().catch(() => undefined);
        throw e;
      }
      missing = [`(metadata: ${(e as Error).message})`];
    }
    if (missing.length === 0) break;
    if (!logged && Date.now() - t0 > 2000) {
      logged = true;
      log.warn('waiting for partition leaders after topics apply', { missing: missing.slice(0, 10) });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await admin.disconnect().catch(() => undefined);
  if (logged) log.warn('every partition has a leader', { waited_s: Math.round((Date.now() - t0) / 100) / 10 });
}

async function applyAndCheckTopics(cfg: Config, log: Logger): Promise<void> {
  const admin = createKafka(cfg, { clientId: `${cfg.kafka.client_id}-feed-admin`, logger: log }).admin();
  await admin.connect();
  try {
    const report = await applyTopics(admin, cfg);
    const changed = report.filter((r) => r.action !== 'unchanged').map((r) => `${r.topic}:${r.action}`);
    log.info('topics applied', { changes: changed });
    for (const r of report) for (const w of r.warnings) log.warn('topic warning', { topic: r.topic, warning: w });
    // Co-partitioning by underlying needs every input topic at exactly kafka.partitions partitions.
    const inputs = INPUT_TOPICS.map((s) => topicName(cfg, s));
    const meta = await admin.fetchTopicMetadata({ topics: inputs });
    const wrong = meta.topics.filter((t) => t.partitions.length !== cfg.kafka.partitions);
    if (wrong.length) {
      throw new UsageError(
        `input topics must all have kafka.partitions=${cfg.kafka.partitions} partitions to stay co-partitioned by underlying; ` +
          wrong.map((t) => `${t.name} has ${t.partitions.length}`).join(', '),
      );
    }
  } finally {
    await admin.disconnect();
  }
}

/** --out → the JSONL file; otherwise Kafka (topics applied first). */
async function openSink(cfg: Config, log: Logger, out: string | undefined, defaultKey: string, append = false): Promise<OrderedFeedSink> {
  const common = { latePolicy: cfg.feeds.late_policy, heartbeatMs: cfg.feeds.heartbeat_ms || cfg.snap.tick_ms, clock: systemClock, logger: log, defaultKey };
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    return new JsonlFeedSink({ ...common, path: out, append });
  }
  // No broker or registry at all: one line naming the address and the fix, not a retry loop (a broker that goes
  // away later is waited for: patiently()).
  await preflight(cfg, ['kafka', 'registry']);
  await ensureTopics(cfg, log);
  const sink = KafkaFeedSink.fromConfig(cfg, { logger: log, defaultKey });
  await sink.connect();
  return sink;
}

/**
 * A replay with --resume into Kafka: restore the ordering state, skip what the previous run wrote after its last
 * save (from the partitions' end offsets), and save the resume point at once, so even a run killed before its first
 * checkpoint leaves the offsets a restart needs.
 */
async function prepareResume(sink: OrderedFeedSink, resume: ResumePoint, keys: string[]): Promise<void> {
  sink.guard.restore(resume.partitions);
  sink.heartbeats?.restore(resume.heartbeats);
  if (sink instanceof KafkaFeedSink) {
    await sink.prepareResume(resume.offsets, keys);
    resume.save(sink.guard.snapshot(), sink.heartbeats?.snapshot() ?? {}, sink.offsetsSnapshot());
  }
}

/** Flush, then record the position and save (the resume point only ever names acknowledged records). */
async function checkpoint(sink: OrderedFeedSink, resume: ResumePoint, source: string, index: number, lastTs: bigint | null, done: boolean): Promise<void> {
  await sink.flush();
  resume.record(source, { index, ts_event_ns: lastTs === null ? resume.position(source).ts_event_ns : lastTs.toString(), done });
  resume.save(sink.guard.snapshot(), sink.heartbeats?.snapshot() ?? {}, sink instanceof KafkaFeedSink ? sink.offsetsSnapshot() : undefined);
}

let feedStartedMs = Date.now();

/** The end summary on stderr (readable on a TTY, one JSON line otherwise) and the structured log line. */
function summary(log: Logger, sink: OrderedFeedSink, extra: Record<string, unknown> = {}, command = 'feed') {
  log.info('feed finished', { ...extra, ...sink.metrics });
  const m = sink.metrics;
  printSummary(command, {
    ...(extra.out !== undefined ? { out: extra.out } : {}),
    records: m.produced,
    by_schema: m.produced_by_schema,
    heartbeats: m.heartbeats,
    dead_letters: m.dead_lettered,
    wall_time: formatDuration((Date.now() - feedStartedMs) / 1000),
  });
}

/** Event-time span of DBN files from their metadata (start/end of the request), for a percent and an ETA. */
async function dbnSpan(files: string[]): Promise<{ startNs: bigint; endNs: bigint } | undefined> {
  let startNs: bigint | null = null;
  let endNs: bigint | null = null;
  for (const f of files) {
    try {
      for await (const { metadata } of dbnFrames(f)) {
        if (metadata.end === null || metadata.end <= metadata.start) return undefined;
        if (startNs === null || metadata.start < startNs) startNs = metadata.start;
        if (endNs === null || metadata.end > endNs) endNs = metadata.end;
        break;
      }
    } catch {
      return undefined; // a corrupt file is reported by the replay itself
    }
  }
  return startNs !== null && endNs !== null ? { startNs, endNs } : undefined;
}

async function action(program: Command, name: string, body: (cfg: Config, log: Logger) => Promise<number>): Promise<void> {
  let cfg: Config;
  try {
    cfg = loadConfig({ file: program.opts().config });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`snap-engine feed ${name}: ${e.message}\n`);
      process.exitCode = EXIT.USAGE;
      return;
    }
    throw e;
  }
  const log = createLogger({ name: `feed.${name}`, level: cfg.log.level });
  feedStartedMs = Date.now();
  try {
    process.exitCode = await body(cfg, log);
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof ResumeFileError || e instanceof MassiveApiKeyError || e instanceof ConfigError;
    if (!(e instanceof UnreachableError)) log.error(`feed ${name} failed`, { error: e as Error });
    process.stderr.write(`snap-engine feed ${name}: ${(e as Error).message}\n`);
    process.exitCode = usage ? EXIT.USAGE : EXIT.FAILED;
  }
}

/** Commander reports a bad option value with exit code 1; these commands promise 2 for every usage error. */
function usageExit2(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    if (err.exitCode === 1) (err as { exitCode: number }).exitCode = EXIT.USAGE;
    throw err;
  });
}

export function register(program: Command) {
  const feed = program
    .command('feed')
    .description('produce market data into Kafka (Avro envelopes, key = underlying) or, with --out, into a run --input JSONL file')
    .addHelpText(
      'after',
      `
Every feed goes through one ordered pipeline: event_id filled per §2.5, each (topic, key) partition kept
non-decreasing in ts_event_ns (a late record is dead-lettered, or clamped with feeds.late_policy=clamp),
heartbeat.v1 into every input topic of the underlying at each feeds.heartbeat_ms (default: snap.tick_ms) boundary
of EVENT time, bad records to the dead-letter topic with reason and raw bytes.

Exit codes: 0 ok, 1 runtime failure, 2 usage/config error, 3 finished but some input was dead-lettered,
130/143 a replay (sim, dbn) stopped by SIGINT/SIGTERM after flushing (feed massive: 0, a signal is its normal end).`,
    );

  usageExit2(feed.command('sim'))
    .description('produce a simulated market session (event time) and exit')
    .requiredOption('--duration <dur>', 'event-time length of the session, e.g. 120s, 5m', parseDurationMs)
    .option('--seed <n>', 'simulator seed (same seed ⇒ same events)', parseIntArg, 1)
    .option('--underlying <sym>', 'underlying to simulate (default: every config underlying, side by side: SPY+ES, QQQ+NQ, IWM+RTY)', underlyingArg)
    .option('--start <time>', 'event time of the first record: ISO time or Unix ns (default: the simulator\'s)', parseStartNs)
    .option('--density <d>', 'normal, or realistic: SPY regular-hours quote density (hundreds of quotes/s at the open; the benchmark input)', densityArg, 'normal' as SessionDensity)
    .option('--regime <name>', `market regime: ${SESSION_REGIMES.join('|')} (session = the default world; mixed = regimes switching over the day)`, regimeArg, 'session' as SessionRegime)
    .option('--speed <n|max>', 'pace: max, or ×N real time', parseSpeedArg, 'max' as Speed)
    .option('--resume <file.json>', 'resume point: continue a killed run of the same seed/duration/start/underlying where it stopped (records position, ordering state and Kafka offsets here)')
    .option('--out <file.jsonl>', 'write the run --input JSONL file instead of producing to Kafka')
    .option('--tz <zone>', 'time zone for the event times printed (IANA name, e.g. America/New_York)', tzArg, 'UTC')
    .action((opts: { tz: string; duration: number; seed: number; underlying?: string; start?: bigint; speed: Speed; resume?: string; out?: string; density: SessionDensity; regime: SessionRegime }) =>
      action(program, 'sim', async (cfg, log) => {
        const underlying = opts.underlying ?? cfg.underlyings[0]!;
        // Without --underlying, every configured underlying is simulated at once (one alone: exactly as before).
        const underlyings = opts.underlying ? [opts.underlying] : [...new Set(cfg.underlyings)];
        // The session is a pure function of these: the resume point is only valid for the same ones.
        const source = `sim:${underlyings.join('+')}:seed=${opts.seed}:duration_ms=${opts.duration}:start=${opts.start ?? 'default'}${opts.density === 'normal' ? '' : `:density=${opts.density}`}${opts.regime === 'session' ? '' : `:regime=${opts.regime}`}`;
        const resume = opts.resume ? ResumePoint.load(opts.resume) : undefined;
        const pos = resume?.position(source);
        if (resume && pos!.done) {
          log.info('feed sim: the resume point says this session was produced completely; nothing to do', { resume: opts.resume, records: pos!.index });
          return EXIT.OK;
        }
        const signals = stopSignals(log);
        const sink = await openSink(cfg, log, opts.out, underlying, resume !== undefined && pos!.index > 0);
        if (resume) await prepareResume(sink, resume, underlyings);
        const progress = new ProgressReporter({ label: `sim ${underlyings.join('+')} seed ${opts.seed}`, clock: systemClock, eventSpan: { durationMs: opts.duration }, tz: opts.tz });
        try {
          const common = { seed: opts.seed, durationMs: opts.duration, ...(opts.start !== undefined ? { startNs: opts.start } : {}), ...(opts.density !== 'normal' ? { density: opts.density } : {}), ...(opts.regime !== 'session' ? { regime: opts.regime } : {}) };
          const events: Iterable<InputEvent> = underlyings.length > 1 ? simulateMarket({ ...common, underlyings }) : simulateSession({ ...common, underlying });
          if (pos && pos.index > 0) log.info('feed sim: resuming', { resume: opts.resume, skip: pos.index });
          let lastCheckpoint = Date.now();
          const r = await replayEvents(events, {
            sink,
            pacer: new ReplayPacer(opts.speed, systemClock),
            progress,
            shouldStop: signals.stopped,
            skip: pos?.index ?? 0,
            onEmitted: resume
              ? async (index, ev) => {
                  // Every second of wall time (and at the end): bounded re-work after a kill, small overhead.
                  if (Date.now() - lastCheckpoint >= 1000) {
                    await checkpoint(sink, resume, source, index, ev.ts_event_ns, false);
                    lastCheckpoint = Date.now();
                  }
                }
              : undefined,
          });
          if (resume) await checkpoint(sink, resume, source, r.index, r.lastTsNs, !r.stopped);
          progress.finish();
          await sink.close();
          summary(log, sink, { records: r.emitted, out: opts.out ?? 'kafka', ...(sink instanceof KafkaFeedSink ? { skipped_existing: sink.skippedExisting, outages: sink.outages } : {}) }, 'feed sim');
          return signals.exitCode() ?? (sink.metrics.dead_lettered > 0 ? EXIT.DEAD_LETTERED : EXIT.OK);
        } finally {
          signals.dispose();
          await sink.close().catch((e: Error) => log.error('closing the sink failed', { error: e }));
        }
      }),
    );

  usageExit2(feed.command('dbn'))
    .description('replay Databento DBN files (plain or .zst) as futures.mbp10.v1 / futures.trades.v1 records')
    .argument('<files...>', 'DBN files, replayed in the order given')
    .option('--underlying <sym>', 'the underlying the futures data serves = the partition key (default: first of config underlyings)', underlyingArg)
    .option('--speed <n|max>', 'pace: max, or ×N real time of event time', parseSpeedArg, 'max' as Speed)
    .option('--resume <file.json>', 'resume point: skip what a previous run already produced, and record progress here')
    .option('--out <file.jsonl>', 'write the run --input JSONL file instead of producing to Kafka')
    .option('--tz <zone>', 'time zone for the event times printed (IANA name, e.g. America/New_York)', tzArg, 'UTC')
    .addHelpText('after', '\nA corrupt or truncated file: its good records are produced, one dead letter names the byte offset, the\nnext file is replayed, and the command exits 3.')
    .action((files: string[], opts: { underlying?: string; speed: Speed; resume?: string; out?: string; tz: string }) =>
      action(program, 'dbn', async (cfg, log) => {
        const underlying = opts.underlying ?? cfg.underlyings[0]!;
        for (const f of files) {
          let st: Stats;
          try {
            st = statSync(f);
          } catch (e) {
            throw new UsageError(`cannot read DBN file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
          if (!st.isFile()) throw new UsageError(`not a file: ${f}`);
        }
        const resume = opts.resume ? ResumePoint.load(opts.resume) : undefined;
        const signals = stopSignals(log);
        // A resumed replay into a file continues that file rather than truncating what it already wrote.
        const resuming = resume !== undefined && Object.keys(resume.toJSON().files).length > 0;
        const sink = await openSink(cfg, log, opts.out, underlying, resuming);
        if (resume) await prepareResume(sink, resume, [underlying]);
        const progress = new ProgressReporter({ label: `dbn ${files.length} file(s)`, clock: systemClock, eventSpan: await dbnSpan(files), tz: opts.tz });
        try {
          const r = await runDbnFeed({
            files,
            underlying,
            sink,
            // The underlying's own contract (futures.contracts: NQ for QQQ), not the one global ES root.
            symbolRoot: futuresSymbolOf(cfg, underlying),
            pacer: new ReplayPacer(opts.speed, systemClock),
            progress,
            resume,
            shouldStop: signals.stopped,
            logger: log,
          });
          progress.finish();
          await sink.close();
          const bad = r.files.filter((f) => f.error);
          summary(log, sink, { files: r.files, out: opts.out ?? 'kafka' }, 'feed dbn');
          if (signals.exitCode()) return signals.exitCode()!;
          return bad.length || sink.metrics.dead_lettered > 0 ? EXIT.DEAD_LETTERED : EXIT.OK;
        } finally {
          signals.dispose();
          await sink.close().catch((e: Error) => log.error('closing the sink failed', { error: e }));
        }
      }),
    );

  usageExit2(feed.command('massive'))
    .description('run the Massive (Polygon) live feed: stocks + options WebSockets and REST greeks snapshots, until SIGINT/SIGTERM')
    .option('--stocks-url <url>', 'stocks WebSocket URL (default massive.ws_stocks_url)')
    .option('--options-url <url>', 'options WebSocket URL (default massive.ws_options_url)')
    .option('--rest-url <url>', 'REST base URL (default massive.rest_url)')
    .option('--out <file.jsonl>', 'write the run --input JSONL file instead of producing to Kafka')
    .option('--metrics-port <n>', 'serve Prometheus /metrics and /healthz on this port (0 = any free port)', parseIntArg)
    .option('--resume <file.json>', 'resume point: last event time produced per stream (saved every second); a restart drops vendor records older than that instead of producing them twice')
    .addHelpText('after', '\nAPI key: env MASSIVE_API_KEY, or massive.api_key_file / MASSIVE_API_KEY_FILE. It is never logged.\nHeartbeats follow the wall clock minus feeds.live_heartbeat_lag_ms (a vendor record older than that is late).')
    .action((opts: { stocksUrl?: string; optionsUrl?: string; restUrl?: string; out?: string; metricsPort?: number; resume?: string }) =>
      action(program, 'massive', async (cfg, log) => {
        const massive = {
          ...cfg.massive,
          ...(opts.stocksUrl ? { ws_stocks_url: opts.stocksUrl } : {}),
          ...(opts.optionsUrl ? { ws_options_url: opts.optionsUrl } : {}),
          ...(opts.restUrl ? { rest_url: opts.restUrl } : {}),
        };
        const apiKey = resolveMassiveApiKey(massive);
        const signals = stopSignals(log);
        const resume = opts.resume ? ResumePoint.load(opts.resume) : undefined;
        const sink = await openSink(cfg, log, opts.out, cfg.underlyings[0]!, resume !== undefined);
        if (resume) {
          sink.guard.restore(resume.partitions);
          sink.setResumeFloor(resume.partitions);
          log.info('feed massive: resuming after the last event time produced per stream', { resume: opts.resume, streams: Object.keys(resume.partitions).length });
        }
        // Every second: flush, then save the order guard (= last event time per stream), so a restart knows what was
        // produced. Live heartbeats are wall-clock driven and are not restored (the next one follows the clock).
        let saving = false;
        const saveResume = async () => {
          if (!resume || saving) return;
          saving = true;
          try {
            await sink.flush();
            resume.save(sink.guard.snapshot(), sink.heartbeats?.snapshot() ?? {}, sink instanceof KafkaFeedSink ? sink.offsetsSnapshot() : undefined);
          } finally {
            saving = false;
          }
        };
        const resumeTimer = resume ? setInterval(() => void saveResume().catch((e: Error) => log.warn('saving the resume point failed', { error: e.message })), 1000) : null;
        resumeTimer?.unref();
        const feed = new MassiveFeed({ config: { ...cfg, massive }, apiKey, sink, logger: log });
        let failure: Error | null = null;
        const registry = feedMetricsRegistry(() => sink.metrics, 'massive');
        registerMassiveMetrics(registry, feed);
        const http = opts.metricsPort === undefined ? null : await serveFeedMetrics(registry, opts.metricsPort, () => failure === null);
        if (http) log.info('metrics served', { port: http.port, paths: ['/metrics', '/healthz'] });
        try {
          await feed.start();
          // On a delayed plan every vendor record is data_delay_ms old: heartbeats trail by that too, or they would make it late.
          sink.startLiveHeartbeats(cfg.underlyings, cfg.feeds.live_heartbeat_lag_ms + massive.data_delay_ms, 'massive_ws');
          log.info('massive feed running', { underlyings: cfg.underlyings, stocks: massive.ws_stocks_url, options: massive.ws_options_url, rest: massive.rest_url });
          await Promise.race([signals.wait(), feed.done.catch((e: Error) => void (failure = e))]);
          await feed.stop().catch(() => undefined);
          await feed.flush();
          if (resumeTimer) clearInterval(resumeTimer);
          while (saving) await new Promise((r) => setTimeout(r, 10));
          await saveResume();
          await sink.close();
          summary(log, sink, { stats: feed.stats(), resume_skipped: sink.resumeSkipped });
          if (failure) throw failure;
          // A signal is how a live feed is meant to stop (Kubernetes sends SIGTERM): exit 0 once flushed.
          return EXIT.OK;
        } finally {
          if (resumeTimer) clearInterval(resumeTimer);
          http?.server.close();
          signals.dispose();
          await feed.stop().catch(() => undefined);
          await sink.close().catch((e: Error) => log.error('closing the sink failed', { error: e }));
        }
      }),
    );

  // `feed databento` (issue 10) lives in databento.ts and runs through this file's sink, exit codes and signals.
  registerFeedDatabento(feed, { program, action, openSink, stopSignals, usageExit2, underlyingArg, UsageError });
}
