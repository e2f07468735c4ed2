// `snap-engine features [--markdown | --json]`: the feature dictionary of the levels.signals.v1 Gold row
// (@snap/core features.ts). `--markdown` is docs/features.md, byte for byte (its unit test compares them).
import { Command } from 'commander';
import { FEATURES, featuresMarkdown } from '@snap/core';

export function register(program: Command) {
  program
    .command('features')
    .description('feature dictionary of the levels.signals.v1 Gold columns (name, role, definition, window, units, leakage); --markdown writes docs/features.md')
    .option('--markdown', 'the Markdown document (docs/features.md)')
    .option('--json', 'the dictionary as JSON')
    .action((opts: { markdown?: boolean; json?: boolean }) => {
      if (opts.markdown && opts.json) {
        process.stderr.write('snap-engine features: give --markdown or --json, not both\n');
        process.exitCode = 2;
        return;
      }
      if (opts.markdown) process.stdout.write(featuresMarkdown());
      else if (opts.json) process.stdout.write(JSON.stringify(FEATURES, null, 2) + '\n');
      else for (const f of FEATURES) process.stdout.write(`${f.name.padEnd(28)} ${f.role.padEnd(8)} ${f.kind.padEnd(12)} ${f.window.padEnd(30)} ${f.units}\n`);
    });
}
