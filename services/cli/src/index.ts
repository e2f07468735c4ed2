// `snap-engine`: one CLI for every operator task. Each command lives in its own module under ./commands and
// exports `register(program)`; they are discovered here so adding a command touches no shared file.
//
// Command modules are loaded lazily: importing all of them (Kafka, S3, DuckDB, Arrow, …) made `--help` take most of
// a second. With a command index (written by scripts/build, passed in by bin/snap-engine.js) only the module of the
// command being run is loaded; the others are listed in help from the index. An index entry is used only while the
// sha1 of its command file still matches, and a listed-only command that does get invoked (argv the pre-scan did
// not foresee) re-runs the CLI with every module loaded, so the index can make help cheaper but never wrong.
import { Command, CommanderError, Help } from 'commander';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const COMMANDS_DIR = join(__dirname, 'commands');

export interface IndexedCommand {
  name: string;
  aliases: string[];
  /** The command's line in the parent's help, as commander formats it (`demo [options]`). */
  term: string;
  description: string;
}
export interface CommandIndex {
  version: 1;
  /** Keyed by command file name (`demo.ts`). */
  files: Record<string, { sha1: string; commands: IndexedCommand[] }>;
}

interface ProgramOptions {
  /** When given with argv, commands other than the one argv names are listed from it instead of loaded. */
  commandIndex?: CommandIndex;
  argv?: readonly string[];
}

function commandFiles(): string[] {
  return readdirSync(COMMANDS_DIR)
    .filter((f) => /\.ts$/.test(f) && !/\.test\.ts$/.test(f))
    .sort();
}

function loadCommandModule(program: Command, file: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(join(COMMANDS_DIR, file)) as { register?: (p: Command) => void };
  mod.register?.(program);
}

function baseProgram(): Command {
  return new Command('snap-engine')
    .description('Break/Reject physics engine: feeds, processor, replay, lake and ops tooling')
    .option('-c, --config <file>', 'JSON config file (also SNAP_CONFIG); env vars override it')
    .showHelpAfterError();
}

/** The command argv names: the first operand (skipping the global `-c/--config FILE`), or the one after `help`. */
export function commandToken(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') {
      i++;
      continue;
    }
    if (a === '--') return args[i + 1];
    if (a.startsWith('-')) continue;
    if (a === 'help') return args.slice(i + 1).find((x) => !x.startsWith('-')) ?? a;
    return a;
  }
  return undefined;
}

export function buildProgram(opts: ProgramOptions = {}): Command {
  const program = baseProgram();
  const files = commandFiles();
  const index = opts.commandIndex;
  if (!index || index.version !== 1 || !opts.argv) {
    for (const f of files) loadCommandModule(program, f);
    return program;
  }
  const fresh = new Map<string, IndexedCommand[]>();
  for (const f of files) {
    const entry = index.files[f];
    if (entry && entry.sha1 === sha1(readFileSync(join(COMMANDS_DIR, f)))) fresh.set(f, entry.commands);
  }
  const token = commandToken(opts.argv);
  const owner = [...fresh].find(([, cmds]) => cmds.some((c) => c.name === token || c.aliases.includes(token!)))?.[0];
  // No token (top-level help) or a token an up-to-date entry owns: list the rest. Otherwise the token may belong to a
  // changed or new file, so those are loaded.
  const listOnly = (f: string) => fresh.has(f) && f !== owner;
  const terms = new Map<Command, string>();
  const argv = opts.argv;
  for (const f of files) {
    if (!listOnly(f)) {
      loadCommandModule(program, f);
      continue;
    }
    for (const c of fresh.get(f)!) {
      const stub = new Command(c.name)
        .description(c.description)
        .helpOption(false)
        .allowUnknownOption()
        .allowExcessArguments()
        // Invoked after all (the pre-scan missed it): run again with every command module loaded.
        .action(() => runProgram(buildProgram({}), argv));
      for (const a of c.aliases) stub.alias(a);
      terms.set(stub, c.term);
      program.addCommand(stub);
    }
  }
  program.configureHelp({
    subcommandTerm(this: Help, cmd: Command): string {
      return terms.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
    },
  });
  return program;
}

/** Loads every command module and describes its top-level commands (scripts/build writes this as the index). */
export function describeCommands(): CommandIndex {
  const index: CommandIndex = { version: 1, files: {} };
  for (const f of commandFiles()) {
    const program = baseProgram();
    loadCommandModule(program, f);
    const help = program.createHelp();
    index.files[f] = {
      sha1: sha1(readFileSync(join(COMMANDS_DIR, f))),
      commands: program.commands.map((c) => ({ name: c.name(), aliases: c.aliases(), term: help.subcommandTerm(c), description: help.subcommandDescription(c) })),
    };
  }
  return index;
}

function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}

async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  // Subcommands registered before this call do not inherit it: set it on every command, so each usage error reaches
  // the catch below (and exits 2) instead of commander's own process.exit(1).
  const override = (c: Command): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return;
      // Every usage error exits 2 (README "Exit codes"); commander's own default for a bad option value is 1.
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

export async function main(argv: string[], opts: { commandIndex?: CommandIndex } = {}): Promise<void> {
  await runProgram(buildProgram({ commandIndex: opts.commandIndex, argv }), argv);
}
