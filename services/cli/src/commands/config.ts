import { Command } from 'commander';
import { redactConfig } from '@snap/core';
import { configTableMarkdown, loadConfig } from '@snap/platform';

export function register(program: Command) {
  program
    .command('config')
    .description('print the effective configuration (defaults <- file <- env) as JSON, secrets redacted')
    .option('--table', 'print the reference table of every key, its default and its env var (markdown)')
    .action((opts: { table?: boolean }) => {
      if (opts.table) {
        process.stdout.write(configTableMarkdown() + '\n');
        return;
      }
      const cfg = loadConfig({ file: program.opts().config });
      const redacted = redactConfig(cfg);
      process.stdout.write(JSON.stringify(redacted, null, 2) + '\n');
    });
}
