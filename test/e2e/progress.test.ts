// Issue 13: every long command shows progress and ends with a summary — a bar with percent and ETA plus a readable
// summary on a terminal (checked under a pseudo-TTY made by util-linux `script`), JSON progress lines with percent and
// a JSON summary line when stderr is a pipe.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const DBN = ['dbn-data/glbx-mdp3-20260115.mbp-10.dbn.zst', 'dbn-data/glbx-mdp3-20260115.trades.dbn.zst'];

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

describe('progress and summaries of the long commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snap-progress-'));
    env = { ...process.env, LOG_LEVEL: 'warn', DATA_ROOT: join(dir, 'lake'), TERM: 'xterm' };
    delete env.SNAPENGINE_PROGRESS;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const commands = (d: string): [string, string[]][] => [
    ['feed dbn', ['feed', 'dbn', ...DBN, '--out', join(d, 'es.jsonl')]],
    ['feed sim', ['feed', 'sim', '--duration', '2m', '--out', join(d, 'sim.jsonl')]],
    ['convert', ['convert', '--from', 'csv', '--schema', 'stocks.quotes.v1', 'docs/data/sample/spy-quotes.csv.gz', '--map', 'ts_event_ns=ts_event', '--out', join(d, 'q.jsonl')]],
    ['run', ['run', '--input', join(d, 'sim.jsonl'), '--out', join(d, 'payloads.jsonl'), '--no-bronze']],
    ['dbn dump', ['dbn', 'dump', DBN[1]!]],
  ];

  it('without a TTY: JSON progress lines with percent, then a JSON summary', () => {
    const d = join(dir, 'pipe');
    for (const [name, args] of commands(d)) {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      const json = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const progress = json.filter((j) => j.progress !== undefined);
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress[progress.length - 1]).toMatchObject({ percent: 100 });
      expect(progress[progress.length - 1].rate_per_s).toBeGreaterThan(0);
      const summary = json.find((j) => j.summary === name);
      expect(summary).toBeDefined();
    }
  }, 600_000);

  it('on a pseudo-TTY: a progress bar with percent and ETA, then a readable summary', () => {
    const d = join(dir, 'tty');
    mkdirSync(d, { recursive: true });
    for (const [name, args] of commands(d)) {
      // dbn dump prints records on stdout: sent to a file, as one would, so the terminal shows the bar (stderr).
      const cmd = [process.execPath, BIN, ...args].map(quote).join(' ') + (name === 'dbn dump' ? ` > ${quote(join(d, 'dump.txt'))}` : '');
      // `script` gives the command a terminal; its output (stdout and stderr of the command) is the terminal's.
      const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stdout}`);
      expect(r.stdout).toMatch(/\[█+░*\] \d+\.\d%/);
      expect(r.stdout).toMatch(/100\.0%/);
      expect(r.stdout).toMatch(/ETA \d/);
      expect(r.stdout).toContain(`── ${name} summary ──`);
      expect(r.stdout).not.toMatch(/\{"progress"/);
    }
  }, 600_000);
});
