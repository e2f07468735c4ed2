// Row `cli-startup`: wall time of `snap-engine --help` on the compiled build (scripts/build.js; the build bench/run
// made, SNAPENGINE_BUILD_DIR, else a fresh one in a temp dir) against bare `node -e 0`, interleaved, `reps` runs
// each; the best run is the figure (the machine is shared: the minimum is the least disturbed), medians, CPU time
// (user + system) and max RSS of the child in the notes, with the tsx path (no build: what the CLI did before) for
// reference.
//   npm run bench -- cli-startup        (BENCH_CLI_REPS=15)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordResult } from './results';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const reps = Math.max(3, Number(process.env.BENCH_CLI_REPS ?? 15));
const TIME = '/usr/bin/time';

interface Run {
  wall: number;
  cpu: number;
  rssMb: number;
}

/** One run of `node args` under /usr/bin/time (wall, CPU, max RSS of the child alone); hrtime when it is missing. */
function once(args: string[], env: NodeJS.ProcessEnv): Run {
  if (existsSync(TIME)) {
    const r = spawnSync(TIME, ['-f', '@@ %e %U %S %M', process.execPath, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`unexpected ${TIME} output: ${r.stderr}`);
    return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), rssMb: Number(m[4]) / 1024 };
  }
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: NaN, rssMb: NaN };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const best = (xs: number[]) => Math.min(...xs);
const s = (x: number) => x.toFixed(3);

function main(): void {
  let buildDir = process.env.SNAPENGINE_BUILD_DIR;
  let tmp: string | undefined;
  if (!buildDir) {
    tmp = mkdtempSync(join(tmpdir(), 'snap-bench-cli-'));
    buildDir = join(tmp, 'dist');
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--out', buildDir], { stdio: 'inherit' });
  }
  try {
    const compiled = { ...process.env, SNAPENGINE_BUILD_DIR: buildDir, SNAPENGINE_TSX: '' };
    const tsx = { ...process.env, SNAPENGINE_TSX: '1' };
    const help = spawnSync(process.execPath, [BIN, '--help'], { env: { ...compiled, SNAPENGINE_BUILD_DEBUG: '1' }, encoding: 'utf8' });
    if (help.status !== 0 || !help.stdout.includes('Commands:')) throw new Error(`snap-engine --help failed: ${help.stderr}`);
    if (!/ 0 transpiled/.test(help.stderr)) throw new Error(`snap-engine --help did not run from the build: ${help.stderr}`);
    once([BIN, '--help'], compiled); // warm the page cache
    const ours: Run[] = [];
    const peer: Run[] = [];
    for (let i = 0; i < reps; i++) {
      ours.push(once([BIN, '--help'], compiled));
      peer.push(once(['-e', '0'], process.env));
    }
    const before: Run[] = [];
    for (let i = 0; i < 3; i++) before.push(once([BIN, '--help'], tsx));
    const w = (rs: Run[]) => rs.map((r) => r.wall);
    const c = (rs: Run[]) => rs.map((r) => r.cpu);
    const m = (rs: Run[]) => rs.map((r) => r.rssMb);
    recordResult({
      name: 'cli-startup',
      ours: Number(s(best(w(ours)))),
      peer: Number(s(best(w(peer)))),
      unit: 's',
      higher_is_better: false,
      notes:
        `snap-engine --help (compiled build, command modules loaded lazily) vs node -e 0: best wall of ${reps} interleaved runs each; ` +
        `median wall ${s(median(w(ours)))} vs ${s(median(w(peer)))} s; median CPU ${s(median(c(ours)))} vs ${s(median(c(peer)))} s; ` +
        `max RSS ${median(m(ours)).toFixed(0)} vs ${median(m(peer)).toFixed(0)} MB. ` +
        `Before (tsx, every command module loaded): best wall ${s(best(w(before)))} s, CPU ${s(median(c(before)))} s, RSS ${median(m(before)).toFixed(0)} MB (median of 3)`,
    });
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

main();
