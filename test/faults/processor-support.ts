// Shared by the processor fault tests (test/faults/processor*.test.ts): the CLI as child processes with a tracked
// lifetime, committed signals and dead letters read back read_committed, the embedded reference run, and the
// lost/duplicated counts of a FAULT-ROW.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { SignalRow } from '@snap/core';
import { EnvelopeCodec, createKafka, createLogger, loadConfig, recordToSignalRow, type DeadLetterRecord, type SignalRecord } from '@snap/platform';
import { canonicalRow, readRanges, readSignalRowsJsonl } from '@snap/processor';
import { deleteTopicsWithPrefix } from '../integration/support';
import { startCli, type CliProcess, type CliResult } from './support';

export interface TestClients {
  kafka: Kafka;
  admin: Admin;
  codec: EnvelopeCodec;
}

/**
 * The beforeAll/afterAll of a test file that talks to the stack `process.env` points at: a quiet Kafka client, a
 * connected admin and a codec; at the end, after `beforeClose` when given, its CLI processes killed, its topics (names
 * starting with one of `prefixes`) deleted and the admin disconnected. Returns the clients, for the tests to take once
 * beforeAll has run.
 */
export function useTestClients(procs: Procs, prefixes: string[], beforeClose?: (c: TestClients) => Promise<void>): () => TestClients {
  let clients: TestClients | undefined;
  beforeAll(async () => {
    const cfg = loadConfig({ env: { ...process.env, LOG_LEVEL: 'error' } });
    const kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }) });
    const admin = kafka.admin();
    await admin.connect();
    clients = { kafka, admin, codec: new EnvelopeCodec({ registryUrl: cfg.schema_registry.url }) };
  });
  afterAll(async () => {
    if (!clients) return;
    const { admin } = clients;
    await beforeClose?.(clients);
    procs.killAll();
    await deleteTopicsWithPrefix(admin, ...prefixes);
    await admin.disconnect();
  });
  return () => {
    if (!clients) throw new Error('useTestClients: the clients are opened in beforeAll');
    return clients;
  };
}

export class Procs {
  readonly running = new Set<CliProcess>();
  constructor(private readonly baseEnv: () => Record<string, string>) {}
  start(args: string[], extra: Record<string, string> = {}): CliProcess {
    const p = startCli(args, { ...this.baseEnv(), ...extra });
    this.running.add(p);
    p.child.on('close', () => this.running.delete(p));
    return p;
  }
  async ok(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
    const r = await this.start(args, extra).done;
    if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    return r;
  }
  killAll(): void {
    for (const p of this.running) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
  }
}

/** Every committed record of `topic`, partition by partition, decoded. */
export async function readCommitted<T>(kafka: Kafka, admin: Admin, codec: EnvelopeCodec, topic: string, map: (v: unknown) => T): Promise<T[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const byPartition = new Map<number, T[]>();
  await readRanges(kafka, admin, ends.map((e) => ({ topic, partition: e.partition, from: 0n })), {
    readCommitted: true,
    onMessage: async (_t, p, m) => {
      const d = await codec.decode(m.value!);
      byPartition.set(p, [...(byPartition.get(p) ?? []), map(d.value)]);
    },
  });
  return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p)!);
}

export const committedSignals = (kafka: Kafka, admin: Admin, codec: EnvelopeCodec, topic: string): Promise<SignalRow[]> =>
  readCommitted(kafka, admin, codec, topic, (v) => recordToSignalRow(v as SignalRecord));

export const committedDeadLetters = (kafka: Kafka, admin: Admin, codec: EnvelopeCodec, topic: string): Promise<DeadLetterRecord[]> =>
  readCommitted(kafka, admin, codec, topic, (v) => v as DeadLetterRecord);

export interface SimSpan {
  seed: number;
  underlying: string;
  start: string;
  duration: string;
}

/** The embedded run (`run`) over the JSONL of the same simulated spans, concatenated: the reference signals. */
export async function embeddedReference(procs: Procs, spans: SimSpan[], env: Record<string, string>): Promise<SignalRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fault-ref-'));
  try {
    return await referenceRows(procs, spans, env, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function referenceRows(procs: Procs, spans: SimSpan[], env: Record<string, string>, dir: string): Promise<SignalRow[]> {
  const rows: SignalRow[] = [];
  for (const u of [...new Set(spans.map((s) => s.underlying))]) {
    const parts: string[] = [];
    for (const [i, s] of spans.filter((x) => x.underlying === u).entries()) {
      const f = join(dir, `${u}.${i}.events.jsonl`);
      await procs.ok(['feed', 'sim', '--seed', String(s.seed), '--underlying', u, '--start', s.start, '--duration', s.duration, '--out', f], env);
      parts.push(readFileSync(f, 'utf8'));
    }
    const input = join(dir, `${u}.events.jsonl`);
    writeFileSync(input, parts.join(''));
    const output = join(dir, `${u}.signals.jsonl`);
    await procs.ok(['run', '--input', input, '--out', output], env);
    rows.push(...readSignalRowsJsonl(output));
  }
  return rows;
}

/** Rows of `expected` missing from `got` (multiset), and rows of `got` beyond their count in `expected`. */
export function lostAndDuplicated(expected: SignalRow[], got: SignalRow[]): { lost: number; duplicated: number } {
  const want = new Map<string, number>();
  for (const r of expected) {
    const k = canonicalRow(r);
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  let duplicated = 0;
  for (const r of got) {
    const k = canonicalRow(r);
    const n = want.get(k) ?? 0;
    if (n > 0) want.set(k, n - 1);
    else duplicated++;
  }
  let lost = 0;
  for (const n of want.values()) lost += n;
  return { lost, duplicated };
}
