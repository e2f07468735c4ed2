// Friendly failures: a server that cannot be reached is ONE line naming the address and what to do, instead of a
// client's retry log and stack trace (kafkajs alone printed ~14 JSON error lines before giving up).
//
// Commands that need servers call `preflight` first: a plain TCP connect to each address, a few seconds at most,
// then UnreachableError. Errors thrown later (a server that went away) go through `asUnreachable`, which recognises
// the clients' connection failures (kafkajs, ioredis, the AWS SDK, fetch) by their error codes and names.
import { connect } from 'node:net';
import type { Config } from '@snap/core';
import { EXIT } from './exit-codes';

export type ServiceName = 'Kafka' | 'schema registry' | 'S3' | 'Redis';
export type ServiceNeed = 'kafka' | 'registry' | 's3' | 'redis';

const SERVICE: Record<ServiceNeed, { name: ServiceName; env: string; key: string }> = {
  kafka: { name: 'Kafka', env: 'KAFKA_BROKERS', key: 'kafka.brokers' },
  registry: { name: 'schema registry', env: 'SCHEMA_REGISTRY_URL', key: 'schema_registry.url' },
  s3: { name: 'S3', env: 'S3_ENDPOINT', key: 's3.endpoint' },
  redis: { name: 'Redis', env: 'REDIS_URL', key: 'redis.url' },
};

/** A server that did not accept a connection. `message` is the whole one-line explanation with the fix. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  readonly exitCode = EXIT.FAILED;
  constructor(
    readonly service: ServiceName,
    readonly address: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(unreachableMessage(service, address, reason), options);
  }
}

const NEED_OF: Record<ServiceName, ServiceNeed> = { Kafka: 'kafka', 'schema registry': 'registry', S3: 's3', Redis: 'redis' };

export function unreachableMessage(service: ServiceName, address: string, reason: string): string {
  const s = SERVICE[NEED_OF[service]];
  return (
    `cannot reach ${service} at ${address} (${reason}): start the local stack with \`scripts/stack up\` ` +
    `(\`scripts/stack status\` shows what runs), or point ${s.env} / ${s.key} at yours; ` +
    'to try the engine without any server, run `snap-engine demo`'
  );
}

/** "host:port" of a broker string or a URL (default port by scheme). */
export function hostPort(address: string): { host: string; port: number } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) {
    const u = new URL(address);
    const dflt: Record<string, number> = { 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379 };
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : (dflt[u.protocol] ?? 80) };
  }
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: address.trim(), port: 9092 };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
};

/** null when a TCP connection to `address` opens within `timeoutMs`, else the reason ("connection refused"). */
export function probeTcp(address: string, timeoutMs = 3000): Promise<string | null> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (reason: string | null) => {
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(reason);
    };
    sock.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    sock.once('connect', () => done(null));
    sock.once('error', (e: NodeJS.ErrnoException) => done(REASONS[e.code ?? ''] ?? e.code ?? e.message));
  });
}

/** The addresses a need is configured at (Kafka: every bootstrap broker; one answering is enough). */
export function serviceAddresses(cfg: Pick<Config, 'kafka' | 'schema_registry' | 's3' | 'redis'>, need: ServiceNeed): string[] {
  switch (need) {
    case 'kafka':
      return cfg.kafka.brokers;
    case 'registry':
      return [cfg.schema_registry.url];
    case 's3':
      return [cfg.s3.endpoint];
    case 'redis':
      return [cfg.redis.url];
  }
}

/**
 * Checks that every needed server accepts a TCP connection; throws UnreachableError for the first that does not.
 * A connection is all it checks: authentication and protocol errors still come from the clients.
 */
export async function preflight(cfg: Pick<Config, 'kafka' | 'schema_registry' | 's3' | 'redis'>, needs: ServiceNeed[], timeoutMs = 3000): Promise<void> {
  for (const need of needs) {
    const addrs = serviceAddresses(cfg, need);
    const reasons = await Promise.all(addrs.map((a) => probeTcp(a, timeoutMs)));
    if (reasons.some((r) => r === null)) continue;
    // Only a definite answer (refused, no such host, unreachable) fails fast. A probe that merely ran out of time says
    // nothing: on a starved machine our own timer can fire before the connect is seen, and a slow server is the
    // clients' business (they retry and ride through outages), so that case goes on to them.
    if (reasons.every((r) => r!.startsWith('no answer within'))) continue;
    throw new UnreachableError(SERVICE[need].name, addrs.join(','), reasons.find((r) => !r!.startsWith('no answer within'))!);
  }
}

const CONNECTION_ERROR_NAMES = new Set(['KafkaJSConnectionError', 'KafkaJSBrokerNotFound', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

/** Walks cause / originalError / retry reasons / AggregateError members for a network error code. */
function networkCode(e: unknown, depth = 0): string | null {
  if (!e || typeof e !== 'object' || depth > 6) return null;
  const x = e as { code?: unknown; cause?: unknown; originalError?: unknown; retryReason?: unknown; errors?: unknown[]; name?: string; message?: string };
  if (typeof x.code === 'string' && x.code in REASONS) return x.code;
  const msg = typeof x.message === 'string' ? x.message : '';
  const inMsg = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN)\b/.exec(msg);
  if (inMsg) return inMsg[1]!;
  if (x.name === 'KafkaJSConnectionError' && /Connection error|connect/i.test(msg)) return 'ECONNREFUSED';
  for (const inner of [x.cause, x.originalError, x.retryReason, ...(Array.isArray(x.errors) ? x.errors : [])]) {
    const c = networkCode(inner, depth + 1);
    if (c) return c;
  }
  return null;
}

/**
 * A thrown client error that means "server not reachable" as an UnreachableError naming `service` at `address`;
 * anything else → null (the caller reports it as it is).
 */
export function asUnreachable(e: unknown, service: ServiceName, address: string): UnreachableError | null {
  if (e instanceof UnreachableError) return e;
  const code = networkCode(e);
  if (code) return new UnreachableError(service, address, REASONS[code] ?? code, { cause: e });
  const name = (e as Error)?.name ?? '';
  if (CONNECTION_ERROR_NAMES.has(name) && /connect|broker|retries|ECONN/i.test(String((e as Error).message))) return new UnreachableError(service, address, (e as Error).message, { cause: e });
  return null;
}
