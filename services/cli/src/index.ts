// `snap-engine`: one CLI for every operator task. Each command lives in its own module under ./commands and
// exports `register(program)`; they are discovered here so adding a command touches no shared file.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function buildProgram(): Command {
  const program = new Command('snap-engine')
    .description('Break/Reject physics engine: feeds, processor, replay, lake and ops tooling')
    .option('-c, --config <file>', 'JSON config file (also SNAP_CONFIG); env vars override it')
    .showHelpAfterError();
  const dir = join(__dirname, 'commands');
  for (const f of readdirSync(dir).filter((f) => /\.ts$/.test(f) && !/\.test\.ts$/.test(f)).sort()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(dir, f)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return;
      process.exitCode = e.exitCode || 2;
      return;
    }
    throw e;
  }
}
