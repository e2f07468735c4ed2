// Issue 11 acceptance against `scripts/stack up --secure` (its own SNAP_RUN_DIR and free ports, like every fault test;
// the schema registry is the main stack's):
//  1. feeds, processor and sinks run end to end over SASL_SSL (SCRAM-SHA-512) and Redis over TLS with a password,
//     and a node-rdkafka (librdkafka) producer authenticates with the same settings;
//  2. a wrong password exits non-zero with a message naming the broker and the mechanism, and nothing is produced;
//  3. with every secret set to a known marker the pipeline runs, and the marker appears in no log line, error,
//     `config` output, /healthz or /metrics.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { createKafka, createLogger, loadConfig, rdkafkaGlobalConfig, rdkafkaTopicConfig, redisOptions } from '@snap/platform';
import { freePorts } from './support';
import { ROOT, startCli, until, type CliResult } from '../integration/support';

jest.setTimeout(600_000);

const STACK = join(ROOT, 'scripts', 'stack');
const dir = mkdtempSync(join(tmpdir(), `snap-faults-${process.pid}-secure-`));
let stackEnv: Record<string, string> = {};
let env: Record<string, string> = {};
const outputs: string[] = [];

function stack(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [STACK, ...args], { env: { ...process.env, ...stackEnv }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the CLI on the secure stack; keeps every byte it printed for the marker check. */
async function cli(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const r = await startCli(args, { ...env, ...extra }).done;
  outputs.push(r.stdout, r.stderr);
  return r;
}
async function ok(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const r = await cli(args, extra);
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r;
}

beforeAll(async () => {
  const [kafka, ctl, redis] = await freePorts(3);
  stackEnv = { SNAP_RUN_DIR: dir, KAFKA_PORT: String(kafka), KAFKA_CONTROLLER_PORT: String(ctl), REDIS_PORT: String(redis), KAFKA_HEAP: '512m', STACK_HEALTH_TIMEOUT: '240' };
  writeFileSync(join(dir, 'stack-env.json'), JSON.stringify(stackEnv));
  const up = await stack(['up', 'kafka', 'redis', '--secure']);
  if (up.code !== 0) throw new Error(`scripts/stack up --secure failed:\n${up.stderr.slice(-4000)}`);
  for (const line of (await stack(['env'])).stdout.split('\n')) {
    const m = /^export ([A-Z_0-9]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  env.SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
  env = { ...env, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info', DATA_ROOT: join(dir, 'lake') };
}, 420_000);

afterAll(async () => {
  await stack(['reset']);
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

it('scripts/stack env describes a SASL_SSL Kafka and a TLS Redis with password files', () => {
  expect(env).toMatchObject({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'snap' });
  expect(env.REDIS_URL).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
  expect(readFileSync(env.KAFKA_SASL_PASSWORD_FILE!, 'utf8').length).toBeGreaterThan(8);
});

it('feeds, processor and sinks run end to end over SASL_SSL; Redis over TLS + AUTH; librdkafka authenticates too', async () => {
  const prefix = `sec-e2e-${randomBytes(3).toString('hex')}-`;
  const e = { TOPIC_PREFIX: prefix };
  await ok(['topics', 'apply'], e);
  const feed = await ok(['feed', 'sim', '--seed', '5', '--duration', '30s'], e);
  const summary = (feed.stdout + feed.stderr).split('\n').find((l) => l.startsWith('{"summary":"feed sim"'));
  const fed = JSON.parse(summary!) as { records: number };
  expect(fed.records).toBeGreaterThan(100);
  await ok(['processor', '--until-idle'], e);
  const redisRun = await ok(['sink', 'redis', '--until-idle'], e);
  const rs = JSON.parse(redisRun.stdout.trim().split('\n').pop()!) as { rows: number; written: number };
  expect(rs.rows).toBeGreaterThan(0);
  const lakeRun = await ok(['sink', 'lake', '--target', 'local', '--until-idle'], e);
  expect((JSON.parse(lakeRun.stdout.trim().split('\n').pop()!) as { objects: number }).objects).toBeGreaterThan(0);

  // The levels really are in the TLS Redis, readable only with the password.
  const cfg = loadConfig({ env: { ...process.env, ...env, ...e } });
  const redis = new Redis(cfg.redis.url, { ...redisOptions(cfg), lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    expect((await redis.keys(`${cfg.redis.key_prefix}levels:*`)).length).toBeGreaterThan(0);
  } finally {
    redis.disconnect();
  }
  // Without the password the TLS Redis refuses commands (redis-cli, as an operator would try).
  const port = new URL(cfg.redis.url).port;
  const anon = spawnSync('redis-cli', ['--tls', '--cacert', cfg.redis.tls_ca_file!, '-h', '127.0.0.1', '-p', port, 'ping'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(anon.stdout + anon.stderr).toMatch(/NOAUTH/);

  // node-rdkafka with rdkafkaGlobalConfig (security.protocol, sasl.*, ssl.ca.location) produces; kafkajs reads it back.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Rdkafka = require('node-rdkafka') as typeof import('node-rdkafka');
  const topic = `${prefix}futures.trades.v1`;
  const producer = new Rdkafka.Producer({ ...rdkafkaGlobalConfig(cfg), dr_cb: true }, rdkafkaTopicConfig());
  await new Promise<void>((resolve, reject) => {
    producer.once('ready', () => resolve());
    producer.once('event.error', reject);
    producer.connect({ timeout: 30_000 }, (err) => err && reject(err));
  });
  const delivered = new Promise<void>((resolve, reject) => producer.once('delivery-report', (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(50);
  producer.produce(topic, null, Buffer.from('rdkafka-over-sasl-ssl'), 'SPY');
  await delivered;
  await new Promise<void>((r) => producer.disconnect(() => r()));
  const admin = createKafka(cfg, { logger: createLogger({ write: () => undefined }) }).admin();
  await admin.connect();
  try {
    const offs = await admin.fetchTopicOffsets(topic);
    expect(offs.reduce((n, o) => n + Number(o.high), 0)).toBeGreaterThan(0);
  } finally {
    await admin.disconnect();
  }
});

it('a wrong password exits non-zero naming the broker and the mechanism, and produces nothing', async () => {
  const prefix = `sec-wrong-${randomBytes(3).toString('hex')}-`;
  const wrong = join(dir, 'wrong.password');
  writeFileSync(wrong, 'not-the-password\n');
  const r = await cli(['feed', 'sim', '--seed', '5', '--duration', '10s'], { TOPIC_PREFIX: prefix, KAFKA_SASL_PASSWORD_FILE: wrong });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(new RegExp(`snap-engine feed sim: Kafka authentication failed at broker ${env.KAFKA_BROKERS!.replace(/\./g, '\\.')} \\(security protocol SASL_SSL, SASL mechanism SCRAM-SHA-512, user "snap"\\)`));
  expect(r.stderr).not.toContain('not-the-password');
  // Nothing was produced: not even a topic of this prefix exists (the feed stops at its first connection).
  const cfg = loadConfig({ env: { ...process.env, ...env } });
  const admin = createKafka(cfg, { logger: createLogger({ write: () => undefined }) }).admin();
  await admin.connect();
  try {
    expect((await admin.listTopics()).filter((t) => t.startsWith(prefix))).toEqual([]);
  } finally {
    await admin.disconnect();
  }
});

/**
 * A schema registry that demands HTTP basic auth (as Redpanda's does in production): a proxy in front of the main
 * stack's registry that answers 401 to any other credentials. Counts the requests it let through.
 */
async function authRegistry(user: string, password: string): Promise<{ url: string; passed: () => number; close: () => void }> {
  const upstream = new URL(env.SCHEMA_REGISTRY_URL!);
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  let passed = 0;
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic' });
      res.end('{"error_code":401,"message":"Unauthorized"}');
      return;
    }
    passed++;
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host, authorization: '' } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, passed: () => passed, close: () => server.close() };
}

it('every secret set to a known marker: the pipeline runs and the marker is in no log, error, config output or /metrics', async () => {
  const marker = `MARKER${randomBytes(6).toString('hex')}`;
  const registry = await authRegistry('marker', marker);
  const prefix = `sec-mark-${randomBytes(3).toString('hex')}-`;
  // Kafka and Redis users whose password IS the marker (created with the servers' own tools as admin).
  const secure = join(dir, 'secure');
  const admin = await stack(['kafka-run-class', 'kafka.admin.ConfigCommand', '--bootstrap-server', env.KAFKA_BROKERS!, '--command-config', join(secure, 'admin-client.properties'), '--alter', '--entity-type', 'users', '--entity-name', 'marker', '--add-config', `SCRAM-SHA-512=[password=${marker}]`]);
  expect(admin.code).toBe(0);
  const cfg0 = loadConfig({ env: { ...process.env, ...env } });
  const r0 = new Redis(cfg0.redis.url, { ...redisOptions(cfg0), lazyConnect: true });
  await r0.connect();
  await r0.call('ACL', 'SETUSER', 'marker', 'on', `>${marker}`, '~*', '&*', '+@all');
  r0.disconnect();
  const e: Record<string, string> = {
    TOPIC_PREFIX: prefix,
    KAFKA_SASL_USERNAME: 'marker',
    KAFKA_SASL_PASSWORD: marker,
    SNAP_REDIS_USERNAME: 'marker',
    REDIS_PASSWORD: marker,
    SCHEMA_REGISTRY_URL: registry.url,
    SCHEMA_REGISTRY_USERNAME: 'marker',
    SCHEMA_REGISTRY_PASSWORD: marker,
    AWS_SECRET_ACCESS_KEY: marker,
    MASSIVE_API_KEY: marker,
    GATEWAY_TOKEN: marker,
    LOG_LEVEL: 'debug',
  };
  // KAFKA_SASL_PASSWORD_FILE / REDIS_PASSWORD_FILE from `stack env` must go: both a value and a file is refused.
  const base = { ...env };
  delete base.KAFKA_SASL_PASSWORD_FILE;
  delete base.REDIS_PASSWORD_FILE;
  const run = async (args: string[]) => {
    const r = await startCli(args, { ...base, ...e }).done;
    outputs.push(r.stdout, r.stderr);
    if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    return r;
  };
  const config = await run(['config']);
  expect(config.stdout).toContain('"sasl_password": "***"');
  await run(['topics', 'apply']);
  await run(['feed', 'sim', '--seed', '7', '--duration', '20s']);
  // The processor runs until its signals are committed; /metrics and /healthz are read while it runs.
  const proc = startCli(['processor'], { ...base, ...e });
  let scraped = '';
  try {
    const port = await until(() => /"http_port":(\d+)/.exec(proc.out())?.[1], 'the processor to listen', 120_000);
    await until(async () => {
      const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /snap_processor_transactions_total\{result="committed"\} [1-9]/.test(m) && m;
    }, 'a committed transaction', 180_000, 500);
    scraped = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) + (await (await fetch(`http://127.0.0.1:${port}/healthz`)).text());
  } finally {
    proc.child.kill('SIGTERM');
    const r = await proc.done;
    outputs.push(r.stdout, r.stderr);
  }
  await run(['sink', 'redis', '--until-idle']);
  // The gateway behind the marker token: refused without it, served with it.
  const gw = startCli(['gateway', '--port', '0', '--from-beginning'], { ...base, ...e });
  try {
    const url = await until(() => /"url":"(http:\/\/[^"]+)"/.exec(gw.out())?.[1], 'the gateway to listen', 120_000);
    expect((await fetch(`${url}api/levels`)).status).toBe(401);
    expect((await fetch(`${url}api/levels`, { headers: { authorization: `Bearer ${marker}` } })).status).toBe(200);
    scraped += await (await fetch(`${url}healthz`)).text();
  } finally {
    gw.child.kill('SIGTERM');
    const r = await gw.done;
    outputs.push(r.stdout, r.stderr);
  }
  // An error path too: the marker user with a wrong password — the error names the user, never a password.
  const bad = await startCli(['topics', 'apply'], { ...base, ...e, KAFKA_SASL_PASSWORD: `${marker}x` }).done;
  expect(bad.code).not.toBe(0);
  outputs.push(bad.stdout, bad.stderr.replaceAll(`${marker}x`, '<the wrong password>'));
  expect(bad.stderr).not.toContain(`${marker}x`);

  // The registry demanded basic auth and every service passed it; a wrong registry password is refused, naming the registry.
  expect(registry.passed()).toBeGreaterThan(0);
  const badReg = await startCli(['schemas', 'register'], { ...base, ...e, SCHEMA_REGISTRY_PASSWORD: 'wrong-registry-pw' }).done;
  registry.close();
  expect(badReg.code).not.toBe(0);
  expect(badReg.stderr).toMatch(/HTTP 401/);
  expect(badReg.stderr).not.toContain('wrong-registry-pw');
  outputs.push(badReg.stdout, badReg.stderr);

  const all = outputs.join('\n') + scraped;
  expect(all.length).toBeGreaterThan(10_000);
  expect(all).toContain('"sasl_username": "marker"');
  const hits = all.split('\n').filter((l) => l.includes(marker));
  expect(hits).toEqual([]);
});
