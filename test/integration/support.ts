// Helpers shared by the integration tests: the CLI as a real child process (as an operator runs it), signal rows
// produced transactionally with the EnvelopeCodec (so a test can commit or abort exactly the ticks it wants), and the
// clean-up of a test file's topics.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import type { SignalRow } from '@snap/core';
import { EnvelopeProducer, signalRowToRecord, type EnvelopeCodec } from '@snap/platform';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'services', 'cli', 'bin', 'snap-engine.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited and its output is closed. */
  done: Promise<CliResult>;
  /** The stderr (structured logs) written so far. */
  out: () => string;
}

/** Starts `snap-engine <args>` from the repository root with `env` over this process's environment. */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, out: () => stderr };
}

/** Runs `snap-engine <args>` to its end; a non-zero exit is returned, not thrown. */
export const runCli = (args: string[], env: Record<string, string>): Promise<CliResult> => startCli(args, env).done;

/**
 * Polls `probe` until it returns a value other than undefined or false, and returns that value; throws naming `what`
 * once `timeoutMs` has passed.
 */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Produces signal rows to `topic` in one transaction, then commits or aborts it. */
export async function produceSignalsTx(producer: Producer, codec: EnvelopeCodec, topic: string, rows: SignalRow[], commit: boolean): Promise<void> {
  const ep = new EnvelopeProducer(producer, codec);
  const tx = await producer.transaction();
  await ep.sendInTransaction(
    tx,
    topic,
    'levels.signals.v1',
    rows.map((r) => signalRowToRecord(r, { source: 'replay', ts_recv_ns: r.ts_event_ns })),
  );
  if (commit) await tx.commit();
  else await tx.abort();
}

/** Deletes the topics whose names start with one of `prefixes` (a test file's own, at its end); a failed delete is ignored. */
export async function deleteTopicsWithPrefix(admin: Admin, ...prefixes: string[]): Promise<void> {
  const mine = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
  if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
}
