// `snap-engine scenarios [--json] [--seed LIST] [--only NAMES]`: every scripted simulator scenario through the real
// engine, once per barrier source and seed (default seeds 1,2,3); a table of expected vs got with the lead time of
// the signal over the physical outcome. A row passes when the expected BREAK/REJECT appears at the level strictly
// before the physical outcome and the opposite one does not (quiet: no BREAK/REJECT anywhere) — see gradeScenario.
// Exit 0 when all pass, 1 when any fails.
import { Command } from 'commander';
import { ConfigError, SCENARIOS, gradeScenario, runCore, type Config, type ScenarioVerdict } from '@snap/core';
import { loadConfig } from '@snap/platform';

export interface ScenarioRow extends ScenarioVerdict {
  scenario: string;
  seed: number;
  barrier_source: 'l1' | 'mbp10';
  events: number;
  payloads: number;
}

/** Runs every scenario (or the named ones) for the given seeds through runCore with each barrier source. */
export function runScenarios(base: Config, seeds: number[], names?: string[]): ScenarioRow[] {
  const rows: ScenarioRow[] = [];
  for (const def of SCENARIOS) {
    if (names && names.length && !names.includes(def.name)) continue;
    for (const seed of seeds) {
      const scn = def.build(seed);
      for (const source of scn.barrierSources) {
        const cfg: Config = { ...base, barrier: { ...base.barrier, source } };
        const payloads = runCore(cfg, scn.underlying, scn.events);
        const v = gradeScenario(payloads, scn);
        rows.push({ scenario: def.name, seed, barrier_source: source, events: scn.events.length, payloads: payloads.length, ...v });
      }
    }
  }
  return rows;
}

function table(rows: ScenarioRow[]): string {
  const head = ['scenario', 'seed', 'barrier', 'expected', 'got', 'lead_ms', 'result', 'detail'];
  const body = rows.map((r) => [r.scenario, String(r.seed), r.barrier_source, r.expected, r.got, r.leadMs === null ? '-' : r.leadMs.toFixed(0), r.pass ? 'PASS' : 'FAIL', r.detail]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]!))).join('  ');
  return [fmt(head), fmt(w.map((n) => '-'.repeat(n))), ...body.map(fmt)].join('\n');
}

export function register(program: Command) {
  program
    .command('scenarios')
    .description('run every scripted simulator scenario (known ground truth) through the engine; exit non-zero if any fails')
    .option('--json', 'print the results as JSON')
    .option('--seed <list>', 'comma-separated seeds', '1,2,3')
    .option('--only <names>', 'comma-separated scenario names')
    .action((opts: { json?: boolean; seed: string; only?: string }) => {
      let cfg: Config;
      try {
        cfg = loadConfig({ file: program.opts().config });
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`snap-engine scenarios: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      const seeds = opts.seed.split(',').map((s) => s.trim());
      if (seeds.some((s) => !/^\d+$/.test(s))) {
        process.stderr.write(`snap-engine scenarios: --seed expects comma-separated integers (got ${JSON.stringify(opts.seed)})\n`);
        process.exitCode = 2;
        return;
      }
      const names = opts.only?.split(',').map((s) => s.trim());
      const unknown = names?.filter((n) => !SCENARIOS.some((d) => d.name === n)) ?? [];
      if (unknown.length) {
        process.stderr.write(`snap-engine scenarios: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((d) => d.name).join(', ')})\n`);
        process.exitCode = 2;
        return;
      }
      const rows = runScenarios(cfg, seeds.map(Number), names);
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows.map((r) => ({ ...r, signalNs: r.signalNs === null ? null : r.signalNs.toString() })), null, 2) + '\n');
      } else {
        const failed = rows.filter((r) => !r.pass).length;
        process.stdout.write(table(rows) + `\n\n${rows.length - failed}/${rows.length} passed\n`);
      }
      if (rows.some((r) => !r.pass)) process.exitCode = 1;
    });
}
