// `snap-engine massive fake-server`: a local Massive look-alike (WebSocket /stocks, /options and the REST option
// chain snapshot) streaming a seeded session, so demos and manual checks run without internet or a vendor key.
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '@snap/platform';
import { FakeMassiveServer, generateOptionChain, seededMarket } from '@snap/feeds';

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
    .action(async (o: { port: number; host: string; seed: number; underlying: string; spot: number; intervalMs: number; apiKey?: string }) => {
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
}
