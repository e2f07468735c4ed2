// `snap-engine topics apply|list`: make the cluster's topics match packages/platform/src/topics.ts, or show them.
import { Command } from 'commander';
import { applyTopics, createKafka, createLogger, loadConfig, topicDeclarations, topicName } from '@snap/platform';
import type { Admin } from 'kafkajs';

async function withAdmin<T>(program: Command, fn: (admin: Admin, cfg: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  const cfg = loadConfig({ file: program.opts().config });
  const admin = createKafka(cfg, { clientId: `${cfg.kafka.client_id}-admin`, logger: createLogger({ name: 'topics', level: cfg.log.level }) }).admin();
  await admin.connect();
  try {
    return await fn(admin, cfg);
  } finally {
    await admin.disconnect();
  }
}

export function register(program: Command) {
  const topics = program.command('topics').description('Kafka topics declared in @snap/platform topics.ts (names take kafka.topic_prefix / TOPIC_PREFIX)');

  topics
    .command('apply')
    .description('create missing topics, raise partition counts, reset differing configs; prints created / altered / unchanged per topic')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await withAdmin(program, (admin, cfg) => applyTopics(admin, cfg));
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else {
        const w = Math.max(...report.map((r) => r.topic.length));
        for (const r of report) {
          const detail = r.action === 'unchanged' ? '' : `  ${r.changes.join(', ')}`;
          process.stdout.write(`${r.action.padEnd(9)}  ${r.topic.padEnd(w)}${detail}\n`);
        }
      }
      const warned = report.filter((r) => r.warnings.length);
      for (const r of warned) for (const w of r.warnings) process.stderr.write(`warning: ${r.topic}: ${w}\n`);
      if (warned.length) process.exitCode = 1;
    });

  topics
    .command('list')
    .description('declared topics with their partitions and cleanup policy on the cluster')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = await withAdmin(program, async (admin, cfg) => {
        const existing = new Set(await admin.listTopics());
        const decls = topicDeclarations(cfg).map((d) => ({ ...d, name: topicName(cfg, d.base) }));
        const present = decls.filter((d) => existing.has(d.name)).map((d) => d.name);
        const meta = present.length ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
        const parts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
        return decls.map((d) => ({
          topic: d.name,
          role: d.role,
          exists: existing.has(d.name),
          partitions: parts.get(d.name) ?? null,
          declared_partitions: d.partitions,
          cleanup_policy: d.configs['cleanup.policy'],
          value_schemas: d.valueSchemas,
        }));
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      const w = Math.max(...rows.map((r) => r.topic.length));
      process.stdout.write(`${'TOPIC'.padEnd(w)}  ROLE        PARTITIONS  CLEANUP  SCHEMAS\n`);
      for (const r of rows) {
        const p = r.exists ? `${r.partitions}/${r.declared_partitions}` : `missing/${r.declared_partitions}`;
        process.stdout.write(`${r.topic.padEnd(w)}  ${r.role.padEnd(10)}  ${p.padEnd(10)}  ${r.cleanup_policy!.padEnd(7)}  ${r.value_schemas.join(',')}\n`);
      }
    });
}
