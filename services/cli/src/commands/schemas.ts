// `snap-engine schemas register|list`: register every topic's Avro value schemas (schemas/avro/) in the registry.
import { Command } from 'commander';
import { EnvelopeCodec, SCHEMA_NAMES, registryOptions, loadConfig, registerTopicSchemas } from '@snap/platform';

export function register(program: Command) {
  const schemas = program.command('schemas').description('Avro schemas (schemas/avro/*.avsc) and the schema registry');

  schemas
    .command('register')
    .description('register each declared topic\'s value schemas (subject <topic>-<record fullname>) with BACKWARD compatibility')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const cfg = loadConfig({ file: program.opts().config });
      const codec = new EnvelopeCodec(registryOptions(cfg));
      const regs = await registerTopicSchemas(codec, cfg);
      if (opts.json) process.stdout.write(JSON.stringify(regs, null, 2) + '\n');
      else for (const r of regs) process.stdout.write(`id ${String(r.id).padStart(5)}  ${r.subject}\n`);
    });

  schemas
    .command('list')
    .description('the local schemas and their record fullnames')
    .action(() => {
      const codec = new EnvelopeCodec(registryOptions(loadConfig({ file: program.opts().config })));
      for (const name of SCHEMA_NAMES) {
        const s = codec.schemas.get(name)!;
        process.stdout.write(`${name.padEnd(30)} ${s.fullname.padEnd(32)} sha256:${s.fingerprint.slice(0, 16)}\n`);
      }
    });
}
