// DBN decoding against Databento's own Rust implementation, same machine, same run, same 1.6M-record MBP-10 file.
//
// Rows (bench/results/latest.json):
//   dbn-decode        records/s decoding the zstd file; peer: the `dbn` crate (bench/peers/dbn-decode)
//   dbn-decode-plain  the same on the decompressed (plain) file
//   dbn-json          CPU seconds of `snap-engine dbn dump --json FILE` vs the official CLI's `dbn FILE --json`
//
// What "decode-only" means (the same work on both sides): every record is framed and three fields are read
// (ts_event, price, size) and folded into a checksum. The Rust peer uses DecodeRecord::decode_record::<Mbp10Msg>,
// a typed reference into its read buffer (its fastest API, the one the issue measured); ours walks
// dbnFrames()/parser.nextRecord() — zero-copy record views — and reads the fields through the DataView. Both time
// only the decode loop, in-process (CPU time). The notes add our rate for full JS record objects (decodeDbnBatches:
// every field, 64-bit ones as BigInt), which is what the feeds consume.
// dump --json is timed as whole processes (user + sys from /usr/bin/time), start-up included on both sides, output
// to /dev/null. Every figure is the best (lowest CPU) of RUNS runs.
//
// Input: `snap-engine dbn simulate --seed 1 --duration 10m --rate 2000` (1,601,270 MBP-10 records, v3, zstd in
// ~1 MiB frames), generated into ~/.cache/snap-engine/dbn-bench if absent; the plain copy is decompressed from it.
// Peers are built on first use with cargo into ~/.cache/snap-engine (minutes on 2 cores; progress is shown).
//   npx tsx bench/dbn.ts            (env: DBN_BENCH_RUNS=3, DBN_BENCH_ONLY=decode|json)
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, writeSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { dbnFrames, decodeDbnBatches } from '@snap/dbn';
import { ZstdStream, loadWasmZstd } from '../packages/dbn/src/zstd';
import { recordResult } from './results';

const ROOT = join(__dirname, '..');
const CACHE = join(homedir(), '.cache', 'snap-engine');
const DATA = join(CACHE, 'dbn-bench');
const ZST = join(DATA, 'glbx-mdp3-20260115.mbp-10.dbn.zst');
const PLAIN = join(DATA, 'glbx-mdp3-20260115.mbp-10.dbn');
const PEER_DIR = join(CACHE, 'dbn-decode-peer');
const PEER_BIN = join(PEER_DIR, 'target', 'release', 'dbn-decode-peer');
const CLI_DIR = join(CACHE, 'dbn-cli');
const DBN_CLI = join(CLI_DIR, 'bin', 'dbn');
const RUNS = Number(process.env.DBN_BENCH_RUNS ?? 3);
/** DBN_BENCH_ONLY=decode or json runs one part (and builds only its peer). */
const ONLY = process.env.DBN_BENCH_ONLY;

const log = (s: string) => process.stderr.write(`[bench dbn] ${s}\n`);

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

async function ensureInput(): Promise<void> {
  if (!existsSync(ZST)) {
    mkdirSync(DATA, { recursive: true });
    log(`generating the 1.6M-record MBP-10 input into ${DATA} (about a minute)`);
    run(process.execPath, [join(ROOT, 'services/cli/bin/snap-engine.js'), 'dbn', 'simulate', '--seed', '1', '--duration', '10m', '--rate', '2000', '--out', DATA]);
  }
  if (!existsSync(PLAIN)) {
    log(`decompressing to ${PLAIN}`);
    const z = new ZstdStream(await loadWasmZstd());
    const tmp = `${PLAIN}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    const drain = () => {
      for (let piece = z.read(); piece; piece = z.read()) writeSync(fd, piece);
    };
    for await (const c of createReadStream(ZST, { highWaterMark: 1 << 20 })) {
      z.push(c as Buffer);
      drain();
    }
    z.end();
    drain();
    closeSync(fd);
    renameSync(tmp, PLAIN);
  }
}

function haveCargo(): boolean {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Builds the peers once into ~/.cache/snap-engine (reused when present). */
function ensurePeers(): { decode: boolean; cli: boolean } {
  const cargo = haveCargo();
  if (!existsSync(PEER_BIN) && cargo && ONLY !== 'json') {
    log('building the decode peer (Databento dbn crate) into ' + PEER_DIR + ' — several minutes on a cold cache');
    run('cargo', ['build', '--release', '--manifest-path', join(ROOT, 'bench/peers/dbn-decode/Cargo.toml')], { env: { CARGO_TARGET_DIR: join(PEER_DIR, 'target') } });
  }
  if (!existsSync(DBN_CLI) && cargo && ONLY !== 'decode') {
    log('building the official dbn CLI (cargo install dbn-cli) into ' + CLI_DIR + ' — 10+ minutes on 2 cores');
    run('cargo', ['install', 'dbn-cli', '--locked', '--root', CLI_DIR], { env: { CARGO_TARGET_DIR: join(CLI_DIR, 'target') } });
  }
  return { decode: existsSync(PEER_BIN), cli: existsSync(DBN_CLI) };
}

interface Decode {
  records: number;
  checksum: number;
  cpu: number;
}

/** Ours, decode-only: frame every record and read ts_event, price and size (see the header). */
async function oursDecode(file: string): Promise<Decode> {
  const c0 = process.cpuUsage();
  let records = 0;
  let checksum = 0;
  for await (const { parser } of dbnFrames(file)) {
    const dv = parser.dv;
    for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) {
      // ts_event (u64 at 8), price (i64 at 16), size (u32 at 24), as 32-bit halves: no BigInt needed to read them.
      checksum = (checksum + (dv.getUint32(b + 8, true) ^ dv.getUint32(b + 12, true) ^ dv.getUint32(b + 16, true) ^ dv.getInt32(b + 20, true) ^ dv.getUint32(b + 24, true))) | 0;
      records++;
    }
  }
  const d = process.cpuUsage(c0);
  return { records, checksum, cpu: (d.user + d.system) / 1e6 };
}

/** Ours, full JS objects (every field, BigInt for 64-bit ones): what the feeds consume. */
async function oursObjects(file: string): Promise<Decode> {
  const c0 = process.cpuUsage();
  let records = 0;
  let checksum = 0;
  for await (const { records: batch } of decodeDbnBatches(file)) {
    for (const r of batch) {
      checksum = (checksum + r.instrument_id) | 0;
      records++;
    }
  }
  const d = process.cpuUsage(c0);
  return { records, checksum, cpu: (d.user + d.system) / 1e6 };
}

function peerDecode(file: string): Decode {
  const out = execFileSync(PEER_BIN, [file], { encoding: 'utf8' }).trim().split(/\s+/);
  return { records: Number(out[0]), checksum: 0, cpu: Number(out[2]) };
}

/** CPU seconds (user + sys) of a whole process, stdout to /dev/null. */
function processCpu(cmd: string, args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-500)}`);
  const line = r.stderr.trim().split('\n').pop()!;
  const [u, s] = line.split(' ').map(Number);
  return u! + s!;
}

async function best<T extends { cpu: number }>(label: string, f: () => Promise<T> | T): Promise<T> {
  let top: T | undefined;
  for (let i = 0; i < RUNS; i++) {
    const r = await f();
    log(`${label} run ${i + 1}: ${r.cpu.toFixed(3)} s CPU`);
    if (!top || r.cpu < top.cpu) top = r;
  }
  return top!;
}

async function main(): Promise<void> {
  await ensureInput();
  const peers = ensurePeers();
  const mb = (p: string) => (statSync(p).size / 2 ** 20).toFixed(0);
  log(`input: ${ZST} (${mb(ZST)} MiB), ${PLAIN} (${mb(PLAIN)} MiB)`);

  for (const [name, file, label] of ONLY === 'json' ? [] : ([['dbn-decode', ZST, 'zstd'], ['dbn-decode-plain', PLAIN, 'plain']] as const)) {
    const ours = await best(`ours ${label} decode`, () => oursDecode(file));
    const objects = await best(`ours ${label} objects`, () => oursObjects(file));
    if (objects.records !== ours.records) throw new Error(`record counts differ: ${ours.records} vs ${objects.records}`);
    if (!peers.decode) {
      log(`no peer for ${name} (cargo missing): ours ${Math.round(ours.records / ours.cpu)} records/s`);
      continue;
    }
    const peer = await best(`peer ${label} decode`, () => peerDecode(file));
    if (peer.records !== ours.records) throw new Error(`peer decoded ${peer.records} records, ours ${ours.records}`);
    recordResult({
      name,
      ours: Math.round(ours.records / ours.cpu),
      peer: Math.round(peer.records / peer.cpu),
      unit: 'records/s',
      higher_is_better: true,
      notes:
        `${ours.records} MBP-10 records (${label}); decode loop CPU time, best of ${RUNS}. Ours: dbnFrames record views + 3 field reads ` +
        `(${ours.cpu.toFixed(3)} s); peer: dbn crate 0.73 decode_record::<Mbp10Msg> + the same 3 fields (${peer.cpu.toFixed(3)} s). ` +
        `Ours as full JS objects (decodeDbnBatches, BigInt 64-bit fields): ${Math.round(objects.records / objects.cpu)} records/s (${objects.cpu.toFixed(3)} s).`,
    });
  }

  if (ONLY === 'decode') return;
  const cliArgs = [join(ROOT, 'services/cli/bin/snap-engine.js'), 'dbn', 'dump', '--json', ZST];
  const ours = await best('ours dump --json', () => ({ cpu: processCpu(process.execPath, cliArgs) }));
  if (!peers.cli) {
    log(`no dbn CLI peer (cargo missing): ours ${ours.cpu.toFixed(2)} s`);
    return;
  }
  const peer = await best('dbn CLI --json', () => ({ cpu: processCpu(DBN_CLI, [ZST, '--json']) }));
  const startup = await best('ours start-up (dbn dump --limit 0)', () => ({ cpu: processCpu(process.execPath, [...cliArgs.slice(0, 4), '--limit', '0', ZST]) }));
  recordResult({
    name: 'dbn-json',
    ours: Number(ours.cpu.toFixed(3)),
    peer: Number(peer.cpu.toFixed(3)),
    unit: 's',
    higher_is_better: false,
    notes:
      `whole-process CPU (user+sys), best of ${RUNS}, stdout to /dev/null, 1,601,270 MBP-10 records (zstd). Ours: snap-engine dbn dump --json ` +
      `(CLI start-up alone: ${startup.cpu.toFixed(2)} s); peer: official dbn CLI (cargo install dbn-cli: ${execFileSync(DBN_CLI, ['--version'], { encoding: 'utf8' }).trim()}) dbn FILE --json. Output formats differ ` +
      `(each tool's own JSON), the work is the same: every field of every record as text.`,
  });
}

main().catch((e) => {
  process.stderr.write(`bench/dbn: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
