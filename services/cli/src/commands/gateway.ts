// `snap-engine gateway`: the dashboard gateway on Kafka — reads the signals topic (read_committed, from the end as of
// start, or --from-beginning), regroups rows into §6.4 payloads, and serves the dashboard, GET /api/levels,
// GET /healthz and WS /ws/levels. Runs until SIGINT/SIGTERM.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, type Config } from '@snap/core';
import { EXIT, asUnreachable, createLogger, loadConfig, preflight } from '@snap/platform';
import { GatewayError, startKafkaGateway } from '@snap/gateway';

const portArg = (text: string) => {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 65535) throw new InvalidArgumentError(`expected a TCP port 0-65535 (got ${JSON.stringify(text)})`);
  return Number(text);
};

export function register(program: Command) {
  program
    .command('gateway')
    .description('serve the live dashboard and WS /ws/levels from the Kafka signals topic (read_committed)')
    .option('--port <n>', 'HTTP/WS port (default gateway.port; 0 = any free port)', portArg)
    .option('--host <addr>', 'bind address (default gateway.host)')
    .option('--from-beginning', 'replay the signals topic from its first offset instead of its end')
    .action(async (opts: { port?: number; host?: string; fromBeginning?: boolean }) => {
      let cfg: Config;
      try {
        cfg = loadConfig({ file: program.opts().config });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`snap-engine gateway: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      const log = createLogger({ name: 'gateway', level: cfg.log.level });
      let gw;
      try {
        // No broker or registry: one line naming the address and the fix, before kafkajs starts retrying.
        await preflight(cfg, ['kafka', 'registry']);
        gw = await startKafkaGateway({
          cfg,
          log,
          port: opts.port,
          host: opts.host,
          fromBeginning: opts.fromBeginning,
          // Printed as soon as the server listens: the page shows "connecting" until the consumer has joined.
          onListening: (url) => process.stderr.write(`dashboard: ${url}\n`),
        });
      } catch (e) {
        const unreachable = asUnreachable(e, 'Kafka', cfg.kafka.brokers.join(','));
        if (e instanceof GatewayError || unreachable) {
          process.stderr.write(`snap-engine gateway: ${(unreachable ?? (e as Error)).message}\n`);
          process.exitCode = EXIT.FAILED;
          return;
        }
        throw e;
      }
      await new Promise<void>((resolve) => {
        const stop = (sig: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          log.info('gateway stopping', { signal: sig });
          void gw.stop().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
