// `snap-engine databento fake-gateway`: a local server speaking Databento's live Raw API (greeting, CRAM auth,
// subscriptions, start_session, DBN stream) that streams DBN files, with faults to inject (tests, demos, manual
// checks of `feed databento` without an account or the internet).
//
// Also `feed databento` (registered under `feed` by feed.ts through registerFeedDatabento): the live client →
// futures.mbp10.v1 / futures.trades.v1 into Kafka (or --out JSONL) exactly as `feed dbn` writes them.
import { statSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { Config } from '@snap/core';
import { DatabentoLiveClient, FakeDatabentoGateway, FakeGatewayError, LIVE_SCHEMAS, LIVE_STYPES, type FakeGatewayFaults, type LiveSType, type LiveSchema } from '@snap/dbn';
import { createLogger, type Logger } from '@snap/platform';
import { DatabentoFeed, feedMetricsRegistry, registerDatabentoMetrics, resolveDatabentoApiKey, serveFeedMetrics, type OrderedFeedSink } from '@snap/feeds';

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  return n;
};

const collect = (v: string, prev: string[] = []) => [...prev, v];

const schemasArg = (v: string): LiveSchema[] => {
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of list) if (!(LIVE_SCHEMAS as readonly string[]).includes(s)) throw new InvalidArgumentError(`unknown schema ${JSON.stringify(s)} (expected ${LIVE_SCHEMAS.join(', ')})`);
  if (list.length === 0) throw new InvalidArgumentError('expected at least one schema');
  if (list.includes('tbbo') && list.includes('mbp-1')) throw new InvalidArgumentError('mbp-1 and tbbo share one record type in a live stream: subscribe one of them');
  return [...new Set(list)] as LiveSchema[];
};

const gatewayArg = (v: string): { host: string; port: number } => {
  const m = /^(.+):(\d{1,5})$/.exec(v.trim());
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError(`expected HOST:PORT (got ${JSON.stringify(v)})`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
};

const stypeArg = (v: string): LiveSType => {
  if (!(LIVE_STYPES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${LIVE_STYPES.join(', ')} (got ${JSON.stringify(v)})`);
  return v as LiveSType;
};

function startArg(text: string): bigint {
  if (/^\d{16,19}$/.test(text)) return BigInt(text);
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(text)) throw new InvalidArgumentError(`a start time needs a zone (…Z or …-05:00) or Unix ns (got ${JSON.stringify(text)})`);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected an ISO time (2026-01-15T14:30:00Z) or Unix ns (got ${JSON.stringify(text)})`);
  return BigInt(ms) * 1_000_000n;
}

export function register(program: Command) {
  const db = program.command('databento').description('Databento live (Raw API) tooling');
  db.command('fake-gateway')
    .description('run a local fake Databento live gateway (Raw API over TCP) streaming DBN files')
    .option('--port <n>', 'listen port (0 = any free port)', int('--port', 0, 65535), 13000)
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--from <file.dbn.zst>', 'DBN file to stream (repeat for mbp-10 + trades; default: the dbn-data sample)', collect)
    .option('--api-key <key>', 'the key the gateway accepts (default: env DATABENTO_API_KEY, else db-fake-gateway-key)')
    .option('--speed <x>', 'pace event time at x × real time (0 = as fast as the socket takes it)', (v) => {
      const n = Number(v);
      if (!(n >= 0)) throw new InvalidArgumentError(`--speed must be a non-negative number (got ${JSON.stringify(v)})`);
      return n;
    }, 0)
    .option('--heartbeat-interval <s>', 'heartbeat interval when the client asks for none', int('--heartbeat-interval', 1, 3600), 30)
    .option('--fault-connection <n>', 'which connection (1-based) the faults below hit', int('--fault-connection', 1, 1_000_000), 1)
    .option('--disconnect-after <n>', 'inject: close the connection after n data records', int('--disconnect-after', 1, 1e12))
    .option('--stall-after <n>', 'inject: after n data records go silent (no data, no heartbeats; heartbeat loss)', int('--stall-after', 1, 1e12))
    .option('--slow-start <ms>', 'inject: delay the greeting', int('--slow-start', 1, 600_000))
    .option('--error-after <n>', 'inject: an error record after n data records', int('--error-after', 1, 1e12))
    .option('--slow-reader-after <n>', 'inject: a slow-reader warning after n data records', int('--slow-reader-after', 1, 1e12))
    .option('--reject-auth', 'inject: refuse every key (a bad key)')
    .action(
      async (o: {
        port: number;
        host: string;
        from?: string[];
        apiKey?: string;
        speed: number;
        heartbeatInterval: number;
        faultConnection: number;
        disconnectAfter?: number;
        stallAfter?: number;
        slowStart?: number;
        errorAfter?: number;
        slowReaderAfter?: number;
        rejectAuth?: boolean;
      }) => {
        const log = createLogger({ name: 'fake-databento' });
        const files = o.from ?? defaultFiles();
        const faults: FakeGatewayFaults = {
          onConnection: o.faultConnection,
          disconnectAfter: o.disconnectAfter,
          stallAfter: o.stallAfter,
          slowStartMs: o.slowStart,
          errorAfter: o.errorAfter,
          slowReaderAfter: o.slowReaderAfter,
          rejectAuth: o.rejectAuth,
        };
        let gw: FakeDatabentoGateway;
        try {
          gw = await FakeDatabentoGateway.start({ apiKey: o.apiKey ?? process.env.DATABENTO_API_KEY ?? 'db-fake-gateway-key', files, host: o.host, port: o.port, speed: o.speed, heartbeatIntervalS: o.heartbeatInterval, faults, logger: log });
        } catch (e) {
          process.stderr.write(`snap-engine databento fake-gateway: ${(e as Error).message}\n`);
          process.exitCode = e instanceof FakeGatewayError ? 2 : 1;
          return;
        }
        // One JSON line on stdout for scripts: where to point `feed databento --gateway`.
        process.stdout.write(JSON.stringify({ gateway: gw.address, dataset: gw.dataset, files }) + '\n');
        log.info('fake databento gateway listening', { gateway: gw.address, dataset: gw.dataset, files, faults });
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        await gw.close();
      },
    );
}

function defaultFiles(): string[] {
  for (const dir of ['dbn-data', `${__dirname}/../../../../dbn-data`]) {
    const files = [`${dir}/glbx-mdp3-20260115.mbp-10.dbn.zst`, `${dir}/glbx-mdp3-20260115.trades.dbn.zst`];
    try {
      if (files.every((f) => statSync(f).isFile())) return files;
    } catch {
      // try the next place
    }
  }
  return ['dbn-data/glbx-mdp3-20260115.mbp-10.dbn.zst', 'dbn-data/glbx-mdp3-20260115.trades.dbn.zst'];
}

/** What feed.ts hands over so `feed databento` runs through the same sink, exit codes and signal handling. */
export interface FeedHelpers {
  program: Command;
  action: (program: Command, name: string, body: (cfg: Config, log: Logger) => Promise<number>) => Promise<void>;
  openSink: (cfg: Config, log: Logger, out: string | undefined, defaultKey: string, append?: boolean) => Promise<OrderedFeedSink>;
  stopSignals: (log: Logger) => { stopped: () => boolean; wait: () => Promise<void>; dispose: () => void };
  usageExit2: (cmd: Command) => Command;
  underlyingArg: (text: string) => string;
  UsageError: new (message: string) => Error;
}

interface FeedDatabentoOpts {
  dataset: string;
  schema: LiveSchema[];
  symbols: string;
  stypeIn?: LiveSType;
  gateway?: { host: string; port: number };
  out?: string;
  underlying?: string;
  start?: bigint;
  snapshot?: boolean;
  tsOut?: boolean;
  apiKeyFile?: string;
  metricsPort?: number;
  heartbeatInterval?: number;
  slowReaderBehavior?: 'warn' | 'skip';
  untilCaughtUp?: boolean;
}

export function registerFeedDatabento(feed: Command, h: FeedHelpers): void {
  h.usageExit2(feed.command('databento'))
    .description('run the Databento live feed (Raw API over TCP) into futures.mbp10.v1 / futures.trades.v1, until SIGINT/SIGTERM')
    .option('--dataset <id>', 'Databento dataset', 'GLBX.MDP3')
    .option('--schema <list>', 'comma-separated: mbp-10, trades, mbp-1, tbbo', schemasArg, ['mbp-10', 'trades'] as LiveSchema[])
    .requiredOption('--symbols <list>', 'comma-separated symbols: continuous ES.c.0 / ES.v.0, parent ES.FUT, raw ESH6')
    .option('--stype-in <t>', `symbology of --symbols (default: inferred from the first symbol): ${LIVE_STYPES.join(', ')}`, stypeArg)
    .option('--gateway <host:port>', 'gateway address (default: the dataset\'s Databento gateway, e.g. glbx-mdp3.lsg.databento.com:13000)', gatewayArg)
    .option('--out <file.jsonl>', 'write the run --input JSONL file instead of producing to Kafka')
    .option('--underlying <sym>', 'the underlying the futures data serves = the partition key (default: first of config underlyings)', (v) => h.underlyingArg(v))
    .option('--start <time>', 'intraday replay from this time (ISO with zone, or Unix ns)', startArg)
    .option('--snapshot', 'ask for a snapshot on subscribe (where the gateway offers one; not with --start)')
    .option('--ts-out', 'ask the gateway to append its send time (ts_out) to every record')
    .option('--api-key-file <path>', 'file holding the API key (a mounted secret; also env DATABENTO_API_KEY_FILE)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics and /healthz on this port (0 = any free port)', int('--metrics-port', 0, 65535))
    .option('--heartbeat-interval <s>', 'gateway heartbeat interval to ask for (s); a connection silent 5 s longer is reopened', int('--heartbeat-interval', 1, 3600))
    .option('--slow-reader-behavior <b>', 'what the gateway does when this reader falls behind: warn (default) or skip records', (v) => {
      if (v !== 'warn' && v !== 'skip') throw new InvalidArgumentError(`expected warn or skip (got ${JSON.stringify(v)})`);
      return v;
    })
    .option('--until-caught-up', 'exit once the gateway reports the intraday replay complete (backfills, tests)')
    .addHelpText('after', '\nAPI key: env DATABENTO_API_KEY, or a file named by --api-key-file / DATABENTO_API_KEY_FILE. It is never logged.\nA dropped or stalled connection is reopened with backoff and resubscribed from the last ts_event received.')
    .action((o: FeedDatabentoOpts) =>
      h.action(h.program, 'databento', async (cfg, log) => {
        if (o.snapshot && o.start !== undefined) throw new h.UsageError('--snapshot cannot be combined with --start (Databento refuses a snapshot with a replay start)');
        const symbols = o.symbols.split(',').map((s) => s.trim()).filter((s) => s !== '');
        if (symbols.length === 0) throw new h.UsageError('--symbols: expected at least one symbol');
        let apiKey: string;
        try {
          apiKey = resolveDatabentoApiKey({ file: o.apiKeyFile });
        } catch (e) {
          throw new h.UsageError((e as Error).message);
        }
        const underlying = o.underlying ?? cfg.underlyings[0]!;
        const signals = h.stopSignals(log);
        const sink = await h.openSink(cfg, log, o.out, underlying);
        const client = new DatabentoLiveClient({
          apiKey,
          dataset: o.dataset,
          gateway: o.gateway,
          subscriptions: o.schema.map((schema) => ({ schema, symbols, stypeIn: o.stypeIn, start: o.start, snapshot: o.snapshot })),
          tsOut: o.tsOut,
          heartbeatIntervalS: o.heartbeatInterval,
          slowReaderBehavior: o.slowReaderBehavior,
          logger: log.child({ name: 'databento-live' }),
        });
        const feed = new DatabentoFeed({
          client,
          sink,
          underlying,
          symbolRoot: cfg.basis.futures_symbol,
          schemas: o.schema,
          heartbeats: sink.heartbeats,
          idleHeartbeatLagMs: cfg.feeds.live_heartbeat_lag_ms,
          untilReplayCompleted: o.untilCaughtUp,
          logger: log,
        });
        let failure: Error | null = null;
        let http: Awaited<ReturnType<typeof serveFeedMetrics>> | null = null;
        if (o.metricsPort !== undefined) {
          const registry = feedMetricsRegistry(() => sink.metrics, 'databento');
          registerDatabentoMetrics(registry, feed);
          http = await serveFeedMetrics(registry, o.metricsPort, () => failure === null && feed.healthy());
        }
        if (http) log.info('metrics served', { port: http.port, paths: ['/metrics', '/healthz'] });
        log.info('databento feed starting', { gateway: client.gateway, dataset: o.dataset, schemas: o.schema, symbols, underlying, out: o.out ?? 'kafka', start: o.start });
        try {
          const running = feed.run().catch((e: Error) => void (failure = e));
          await Promise.race([signals.wait().then(() => feed.stop()), running]);
          await running;
          await sink.close();
          log.info('feed finished', { ...sink.metrics, ...feed.stats() });
          if (failure) throw failure;
          return 0;
        } finally {
          http?.server.close();
          signals.dispose();
          feed.stop();
          await sink.close().catch((e: Error) => log.error('closing the sink failed', { error: e }));
        }
      }),
    );
}
