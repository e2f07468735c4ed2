// Helpers for the fault-injection suite (`npm run test:faults`): each test file starts its OWN stack instance
// (scripts/stack with SNAP_RUN_DIR in a temp dir, every port free-picked) and breaks only that one, so the main stack
// (and other engineers' tests on it) is never disturbed. The schema registry is the main one (SCHEMA_REGISTRY_URL
// from `scripts/stack env`): registering the same schemas again is harmless, and Apicurio takes ~20 s to start.
//
//   const fs = useFaultStack({ services: ['kafka'], brokers: 3 });   // beforeAll: up; afterAll: reset + rm, always
//   ... startCli(['feed', 'sim', ...], { ...fs().env, TOPIC_PREFIX: p }); await fs().kill('kafka-2'); ...
//
// A run killed before its afterAll (jest killed, machine reset) leaves a dir under os.tmpdir() named
// snap-faults-<pid>-…; the next startFaultStack stops the servers recorded there when that pid is gone, so a second run
// never finds stale servers on its ports.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../integration/support';

export { ROOT, BIN, startCli, runCli, until, type CliProcess, type CliResult } from '../integration/support';

const STACK = join(ROOT, 'scripts', 'stack');
const DIR_PREFIX = 'snap-faults-';

export type FaultService = 'kafka' | 'redis' | 'minio';

export interface FaultStackOptions {
  services: FaultService[];
  /** Kafka nodes: 1 (default) or a cluster (3: replication 3, min.insync.replicas 2). */
  brokers?: number;
}

export interface StackResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface FaultStack {
  /** The instance's SNAP_RUN_DIR (pid files, data, logs under logs/). */
  dir: string;
  /** Config env for the CLI / loadConfig: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, S3_ENDPOINT, AWS_*, REDIS_URL, … */
  env: Record<string, string>;
  /** Env that addresses this instance with scripts/stack (SNAP_RUN_DIR and every port). */
  stackEnv: Record<string, string>;
  /** The Kafka node names (['kafka'] or ['kafka-1', 'kafka-2', 'kafka-3']). */
  kafkaNodes: string[];
  /** Broker address of node i (1-based; 1 for a single node). */
  brokerAddress(i: number): string;
  /** `scripts/stack ARGS` on this instance; throws when it exits non-zero. */
  stack(args: string[]): Promise<StackResult>;
  /** SIGTERM and wait (clean shutdown): a service or one Kafka node (kafka-2). */
  stop(name: string): Promise<void>;
  /** SIGKILL and wait until gone. */
  kill(name: string): Promise<void>;
  /** Start again with its data and wait until healthy (one node: until it listens). */
  start(name: string): Promise<void>;
  /** Stop every server of the instance, wipe its data and remove its dir. Idempotent. */
  down(): Promise<void>;
}

function runStack(args: string[], env: Record<string, string>): Promise<StackResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [STACK, ...args], { env: { ...process.env, ...env }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Free TCP ports on loopback, distinct from each other (bound all at once, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Stops and removes fault-stack instances left behind by runs whose process is gone. */
export async function sweepStaleFaultStacks(): Promise<string[]> {
  const swept: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = /^snap-faults-(\d+)-/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = join(tmpdir(), name);
    let stackEnv: Record<string, string> = { SNAP_RUN_DIR: dir };
    try {
      stackEnv = JSON.parse(readFileSync(join(dir, 'stack-env.json'), 'utf8')) as Record<string, string>;
    } catch {
      /* no env saved: the pid files in the dir are enough to stop what runs */
    }
    await runStack(['reset'], stackEnv);
    rmSync(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}

/** Starts an isolated stack instance: `services` on free ports in a new temp SNAP_RUN_DIR. */
export async function startFaultStack(opts: FaultStackOptions): Promise<FaultStack> {
  await sweepStaleFaultStacks();
  const brokers = opts.brokers ?? 1;
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const [redis, minio, minioConsole, ...kafkaPorts] = await freePorts(3 + 2 * brokers);
  const brokerPorts = kafkaPorts.slice(0, brokers);
  const controllerPorts = kafkaPorts.slice(brokers);
  const stackEnv: Record<string, string> = {
    SNAP_RUN_DIR: dir,
    KAFKA_PORT: String(brokerPorts[0]),
    KAFKA_CONTROLLER_PORT: String(controllerPorts[0]),
    KAFKA_BROKER_PORTS: brokerPorts.join(','),
    KAFKA_CONTROLLER_PORTS: controllerPorts.join(','),
    // Three brokers beside the main stack on 2 cores: smaller heaps.
    KAFKA_HEAP: brokers > 1 ? '384m' : '512m',
    REDIS_PORT: String(redis),
    MINIO_PORT: String(minio),
    MINIO_CONSOLE_PORT: String(minioConsole),
    STACK_HEALTH_TIMEOUT: '240',
  };
  writeFileSync(join(dir, 'stack-env.json'), JSON.stringify(stackEnv));
  const stack = async (args: string[]): Promise<StackResult> => {
    const r = await runStack(args, stackEnv);
    if (r.code !== 0) throw new Error(`scripts/stack ${args.join(' ')} (SNAP_RUN_DIR=${dir}) exited ${r.code}:\n${r.stderr.slice(-4000)}`);
    return r;
  };
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    await runStack(['reset'], stackEnv);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await stack(['up', ...opts.services, ...(opts.services.includes('kafka') ? ['--brokers', String(brokers)] : [])]);
  } catch (e) {
    await down();
    throw e;
  }
  const envText = (await stack(['env'])).stdout;
  const env: Record<string, string> = {};
  for (const line of envText.split('\n')) {
    const m = /^export ([A-Z_0-9]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  // The schema registry is the main stack's (this process's env, from `scripts/stack env` of the main stack).
  env.SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
  const kafkaNodes = brokers > 1 ? Array.from({ length: brokers }, (_, i) => `kafka-${i + 1}`) : ['kafka'];
  return {
    dir,
    env,
    stackEnv,
    kafkaNodes,
    brokerAddress: (i) => `127.0.0.1:${brokerPorts[Math.max(1, i) - 1]}`,
    stack,
    stop: async (name) => void (await stack(['stop', name])),
    kill: async (name) => void (await stack(['kill', name])),
    start: async (name) => void (await stack(['start', name])),
    down,
  };
}

/**
 * Registers beforeAll (start the instance) and afterAll (always tear it down, even after a failure or a failed
 * start) in the calling describe block; returns an accessor for the started instance.
 */
export function useFaultStack(opts: FaultStackOptions, startTimeoutMs = 420_000): () => FaultStack {
  let fs: FaultStack | null = null;
  beforeAll(async () => {
    fs = await startFaultStack(opts);
  }, startTimeoutMs);
  afterAll(async () => {
    await fs?.down();
  }, 180_000);
  return () => {
    if (!fs) throw new Error('the fault stack did not start (see beforeAll)');
    return fs;
  };
}

/** One row of the reliability table: printed on stdout as `FAULT-ROW {json}` for docs/reliability.md. */
export interface FaultRow {
  fault: string;
  lost: number;
  duplicated: number;
  recovery_s: number | null;
  [extra: string]: unknown;
}

export function faultRow(row: FaultRow): void {
  // process.stdout directly: jest's console adds stack-trace noise and may buffer; the lead greps these lines.
  process.stdout.write(`FAULT-ROW ${JSON.stringify(row)}\n`);
}

/** Does a previous instance's dir still exist (tests of the harness itself). */
export const faultStackDirExists = (dir: string): boolean => existsSync(dir);
