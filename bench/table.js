#!/usr/bin/env node
// Prints bench/results/latest.json (or BENCH_RESULTS) as a Markdown table with each row's goal from issue 15.
//   npm run bench:table                          print it
//   npm run bench:table -- --write docs/performance.md   also replace the table between the bench-table markers
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const RESULTS_FILE = process.env.BENCH_RESULTS || join(__dirname, 'results', 'latest.json');

// Goals (issue 15 acceptance). `check` runs only when the row's unit is the one the goal is stated in.
const GOALS = {
  core: { text: '≥ 1M events/s', unit: 'events/s', check: (r) => r.ours >= 1e6 },
  'core-8x': { text: '≥ 2M events/s', unit: 'events/s', check: (r) => r.ours >= 2e6 },
  'run-jsonl': { text: '≥ 400k events/s', unit: 'events/s', check: (r) => r.ours >= 4e5 },
  'dbn-decode': { text: 'ratio ≥ 0.3', check: (r) => r.ratio >= 0.3 },
  'dbn-decode-plain': { text: 'ratio ≥ 0.3', check: (r) => r.ratio >= 0.3 },
  'dbn-json': { text: 'ratio ≥ 0.5', check: (r) => r.ratio >= 0.5 },
  parquet: { text: 'ratio ≥ 0.5, file no larger', check: (r) => r.ratio >= 0.5 },
  produce: { text: 'ratio ≥ 0.7', check: (r) => r.ratio >= 0.7 },
  processor: { text: 'ratio ≥ 0.5', check: (r) => r.ratio >= 0.5 },
  // At 50k events/s offered: a p99 measured at a lower rate the producer fell back to does not meet it.
  latency: { text: 'p99 ≤ tick + 50 ms (300 ms) at 50k events/s offered', unit: 'ms', check: (r) => r.ours <= 300 && /offered load reached: yes/.test(r.notes) },
  'cli-startup': { text: '≤ 0.2 s', unit: 's', check: (r) => r.ours <= 0.2 },
  memory: { text: '≤ 512 MiB flat', unit: 'MiB max RSS', check: (r) => r.ours <= 512 },
};

function fmt(x) {
  if (typeof x !== 'number') return String(x);
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return String(Number(x.toPrecision(4)));
}

function goalCell(r) {
  const g = GOALS[r.name];
  if (!g) return '—';
  if (r.skipped) return g.text;
  if (g.unit && g.unit !== r.unit) return `${g.text} (unit ${r.unit}?)`;
  return `${g.text}: ${g.check(r) ? '**met**' : 'not met'}`;
}

function table(rows) {
  const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '| row | ours | peer | ratio | unit | goal | measured | notes |',
    '| --- | ---: | ---: | ---: | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const better = r.higher_is_better ? 'higher is better' : 'lower is better';
    lines.push(
      r.skipped
        ? `| \`${r.name}\` | skipped | skipped | — | ${esc(r.unit)} | ${esc(goalCell(r))} | ${esc((r.at || '').slice(0, 16))} | ${esc(r.notes)} |`
        : `| \`${r.name}\` | ${fmt(r.ours)} | ${fmt(r.peer)} | ${r.ratio.toFixed(3)} | ${esc(r.unit)} (${better}) | ${esc(goalCell(r))} | ${esc((r.at || '').slice(0, 16))} | ${esc(r.notes)} |`,
    );
  }
  return lines.join('\n');
}

function main() {
  let rows;
  try {
    rows = JSON.parse(readFileSync(RESULTS_FILE, 'utf8'));
  } catch (e) {
    process.stderr.write(`bench:table: no results in ${RESULTS_FILE} (run npm run bench): ${e.message}\n`);
    process.exit(1);
  }
  const md = table(rows);
  process.stdout.write(`${md}\n`);
  const w = process.argv.indexOf('--write');
  if (w > 0) {
    const file = process.argv[w + 1];
    const doc = readFileSync(file, 'utf8');
    const start = '<!-- bench-table:start -->';
    const end = '<!-- bench-table:end -->';
    const a = doc.indexOf(start);
    const b = doc.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${file}: no ${start} … ${end} markers`);
    writeFileSync(file, `${doc.slice(0, a + start.length)}\n${md}\n${doc.slice(b)}`);
    process.stderr.write(`bench:table: wrote ${rows.length} rows into ${file}\n`);
  }
}

main();
