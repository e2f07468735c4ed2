// `snap-engine massive fake-server`: a local Massive look-alike (WebSocket /stocks, /options and the REST option
// chain snapshot) streaming a seeded session, so demos and manual checks run without internet or a vendor key. Its
// flags reproduce what a live plan meets: one connection per cluster, a delayed plan, missing entitlements.
// `snap-engine massive check`: connects with the configured key for a short while and reports what the plan gives
// (entitlements, delay, health) and what each missing piece costs the signals, before a real session depends on it.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, type InputEvent } from '@snap/core';
import { createLogger, EXIT, loadConfig } from '@snap/platform';
import { FakeMassiveServer, generateOptionChain, MassiveApiKeyError, MassiveFeed, resolveMassiveApiKey, seededMarket, type FeedSink, type MassiveCluster } from '@snap/feeds';
import { parseDurationMs } from '../args';

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  return n;
};

export function register(program: Command) {
  const massive = program.command('massive').description('Massive (Polygon legacy) adapter tooling');
  massive
    .command('fake-server')
    .description('run a local fake Massive server (ws /stocks, ws /options, GET /v3/snapshot/options/{underlying}) streaming a seeded session')
    .option('--port <n>', 'listen port (0 = any free port)', int('--port', 0, 65535), 0)
    .option('--host <addr>', 'listen address', '127.0.0.1')
    .option('--seed <n>', 'seed of the synthetic session and option chain', int('--seed', 0, 2 ** 31 - 1), 1)
    .option('--underlying <sym>', 'underlying symbol', 'SPY')
    .option('--spot <px>', 'starting spot price', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError(`--spot must be a positive number (got ${JSON.stringify(v)})`);
      return n;
    }, 676)
    .option('--interval-ms <n>', 'wall-clock ms between published ticks', int('--interval-ms', 1, 60_000), 100)
    .option('--api-key <key>', 'the key the server accepts (also MASSIVE_API_KEY)')
    .option('--max-connections-per-cluster <n>', 'like the vendor: the newest connection per cluster and key kicks the oldest (max_connections)', int('--max-connections-per-cluster', 1, 1000))
    .option('--delay-ms <n>', 'a delayed plan: every event time (WS t, REST ns times) is this much older', int('--delay-ms', 0, 86_400_000), 0)
    .option('--no-option-quotes', 'plan without option quotes: Q.O:* is acknowledged but nothing is delivered')
    .option('--no-stock-quotes', 'plan without stock quotes: Q.<sym> is acknowledged but nothing is delivered')
    .option('--no-chain', 'plan without the option chain snapshot: GET /v3/snapshot/options/… answers 403')
    .option('--no-universal', 'plan without the universal snapshot: GET /v3/snapshot answers 403')
    .option('--ws-clusters <list>', 'clusters the key may open a WebSocket on (others answer auth_failed)', (v) => {
      const list = v.split(',').map((x) => x.trim()).filter(Boolean);
      for (const c of list) if (c !== 'stocks' && c !== 'options') throw new InvalidArgumentError(`--ws-clusters: expected stocks and/or options (got ${JSON.stringify(c)})`);
      return list as MassiveCluster[];
    }, ['stocks', 'options'] as MassiveCluster[])
    .action(async (o: { port: number; host: string; seed: number; underlying: string; spot: number; intervalMs: number; apiKey?: string; maxConnectionsPerCluster?: number; delayMs: number; optionQuotes: boolean; stockQuotes: boolean; chain: boolean; universal: boolean; wsClusters: MassiveCluster[] }) => {
      const log = createLogger({ name: 'fake-massive' });
      const apiKey = o.apiKey ?? process.env.MASSIVE_API_KEY ?? 'fake-massive-key';
      const startMs = Date.now();
      const server = await FakeMassiveServer.start({
        host: o.host,
        port: o.port,
        apiKey,
        seed: o.seed,
        autoplayMs: o.intervalMs,
        // Event time follows the wall clock so a live consumer sees a plausible 0DTE session.
        source: seededMarket({ seed: o.seed, underlying: o.underlying, spot: o.spot, startMs, stepMs: o.intervalMs }),
        chain: { [o.underlying]: generateOptionChain({ seed: o.seed, underlying: o.underlying, spot: o.spot, asOfMs: startMs }) },
        logger: log,
        maxConnectionsPerCluster: o.maxConnectionsPerCluster,
        delayMs: o.delayMs,
        entitlements: { optionQuotes: o.optionQuotes, stockQuotes: o.stockQuotes, chainSnapshot: o.chain, universalSnapshot: o.universal, websocket: o.wsClusters },
      });
      // stdout carries the endpoints as one JSON line so scripts can read them; the key is the caller's own.
      process.stdout.write(JSON.stringify({ ws_stocks_url: server.wsUrl('stocks'), ws_options_url: server.wsUrl('options'), rest_url: server.restUrl, port: server.port }) + '\n');
      log.info('fake massive server listening', { port: server.port, seed: o.seed, underlying: o.underlying });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      log.info('fake massive server stopped');
    });

  massive
    .command('check')
    .description('connect with the configured key for a while and report entitlements, delay and health as one JSON line (exit 0 all there, 1 something missing or failing, 2 usage/config)')
    .option('--duration <d>', 'how long to listen (e.g. 20s)', parseDurationMs, 20_000)
    .option('--stocks-url <url>', 'stocks WebSocket URL (default massive.ws_stocks_url)')
    .option('--options-url <url>', 'options WebSocket URL (default massive.ws_options_url)')
    .option('--rest-url <url>', 'REST base URL (default massive.rest_url)')
    .action(async (o: { duration: number; stocksUrl?: string; optionsUrl?: string; restUrl?: string }, cmd: Command) => {
      let cfg;
      let apiKey: string;
      try {
        cfg = loadConfig({ file: (cmd.parent?.parent?.opts() as { config?: string } | undefined)?.config });
        const massiveCfg = { ...cfg.massive, ...(o.stocksUrl ? { ws_stocks_url: o.stocksUrl } : {}), ...(o.optionsUrl ? { ws_options_url: o.optionsUrl } : {}), ...(o.restUrl ? { rest_url: o.restUrl } : {}) };
        cfg = { ...cfg, massive: massiveCfg };
        apiKey = resolveMassiveApiKey(cfg.massive);
      } catch (e) {
        if (e instanceof ConfigError || e instanceof MassiveApiKeyError) {
          process.stderr.write(`snap-engine massive check: ${(e as Error).message}\n`);
          process.exitCode = EXIT.USAGE;
          return;
        }
        throw e;
      }
      const log = createLogger({ name: 'massive.check', level: cfg.log.level });
      // Nothing is produced: the check only counts what the plan delivers.
      const counts: Record<string, number> = {};
      const sink: FeedSink = {
        emit: async (ev: InputEvent) => void (counts[ev.schema] = (counts[ev.schema] ?? 0) + 1),
        deadLetter: async () => void (counts.dead_letters = (counts.dead_letters ?? 0) + 1),
      };
      const feed = new MassiveFeed({ config: cfg, apiKey, sink, logger: log });
      let startError: Error | null = null;
      try {
        await feed.start();
        await Promise.race([new Promise((r) => setTimeout(r, o.duration)), feed.done.catch(() => undefined)]);
      } catch (e) {
        startError = e as Error;
      }
      const health = feed.health();
      const stats = feed.stats();
      await feed.stop().catch(() => undefined);
      process.stdout.write(JSON.stringify({ status: health.status, health, records: counts, option_trade_sides: stats.optionTrades, ...(startError ? { error: startError.message } : {}) }) + '\n');
      process.exitCode = health.status === 'ok' && !startError ? EXIT.OK : EXIT.FAILED;
    });
}
