// `snap-engine processor [--until-idle]`: the stateful exactly-once processor service (services/processor).
import { Command } from 'commander';
import { createLogger, loadConfig, preflight } from '@snap/platform';
import { runProcessor } from '@snap/processor';

export function register(program: Command) {
  program
    .command('processor')
    .description('run the processor: consumer group over the input topics → levels.signals.v1, exactly-once (Kafka transactions)')
    .option('--until-idle', 'exit 0 once every assigned input partition is at its end offset, the merge is drained and committed')
    .option('--http-port <port>', 'override http.port for /healthz and /metrics (0 = any free port)')
    .action(async (opts: { untilIdle?: boolean; httpPort?: string }) => {
      const cfg = loadConfig({ file: program.opts().config });
      const logger = createLogger({ name: 'processor', level: cfg.log.level });
      const httpPort = opts.httpPort === undefined ? undefined : Number(opts.httpPort);
      if (httpPort !== undefined && !(Number.isInteger(httpPort) && httpPort >= 0 && httpPort <= 65535)) {
        throw Object.assign(new Error(`--http-port must be an integer 0..65535, got ${opts.httpPort}`), { exitCode: 2 });
      }
      // No broker or registry: one line naming the address and the fix (UnreachableError), not kafkajs retrying.
      await preflight(cfg, ['kafka', 'registry']);
      await runProcessor({ cfg, untilIdle: !!opts.untilIdle, logger, httpPort });
      // Everything is committed and disconnected; do not let a stray client timer keep the process alive.
      process.exit(process.exitCode ?? 0);
    });
}
