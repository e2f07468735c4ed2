import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, redactConfig } from '@snap/core';
import { loadConfig } from './config-loader';
import { SchemaRegistryClient } from './envelope-codec';
import { describeKafkaAuthError, kafkajsSecurity, KafkaAuthError, rdkafkaGlobalConfig } from './kafka';
import { createLogger } from './logger';
import { readSecret, redisOptions, registryOptions, safeUrl } from './secrets';

const dir = mkdtempSync(join(tmpdir(), 'snap-secrets-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('secrets from config or mounted files', () => {
  it('reads a file (trailing newline dropped), refuses both set, names the key of an unreadable file', () => {
    expect(readSecret(undefined, file('pw', 's3cr3t-from-file\n'), 'kafka.sasl_password')).toBe('s3cr3t-from-file');
    expect(readSecret('inline-secret', undefined, 'kafka.sasl_password')).toBe('inline-secret');
    expect(readSecret(undefined, undefined, 'kafka.sasl_password')).toBeUndefined();
    expect(() => readSecret('a-secret', file('x', 'b'), 'redis.password')).toThrow(/both "redis.password" and "redis.password_file"/);
    const missing = (() => {
      try {
        readSecret(undefined, join(dir, 'nope'), 'redis.password');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing!.key).toBe('redis.password_file');
    expect(missing!.message).toMatch(/ENOENT/);
  });

  it('every secret read is masked in every log line afterwards', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    readSecret('MARKER-logger-7f3a', undefined, 'gateway.token');
    log.error('connect failed', { error: new Error('auth with MARKER-logger-7f3a refused'), url: 'x' });
    expect(lines.join('\n')).not.toContain('MARKER-logger-7f3a');
    expect(lines[0]).toContain('auth with *** refused');
  });

  it('safeUrl drops user:password from a URL', () => {
    expect(safeUrl('rediss://user:pw@redis:6380/0')).toBe('rediss://redis:6380/0');
    expect(safeUrl('http://registry:8081')).toBe('http://registry:8081');
  });
});

describe('Kafka security settings', () => {
  const env = (extra: Record<string, string>) => loadConfig({ env: { ...extra } });

  it('PLAINTEXT by default: no ssl, no sasl', () => {
    expect(kafkajsSecurity(env({}))).toEqual({});
    expect(rdkafkaGlobalConfig(env({}))['security.protocol']).toBeUndefined();
  });

  it('SASL_SSL with SCRAM-SHA-512 for kafkajs and librdkafka alike, password from a mounted file', () => {
    const cfg = env({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_USERNAME: 'snap',
      KAFKA_SASL_PASSWORD_FILE: file('kpw', 'kafka-pw-1\n'),
      KAFKA_SSL_CA_FILE: file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'),
    });
    const s = kafkajsSecurity(cfg);
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'snap', password: 'kafka-pw-1' });
    expect((s.ssl as { ca: Buffer[] }).ca[0]!.toString()).toContain('BEGIN CERTIFICATE');
    const rd = rdkafkaGlobalConfig(cfg);
    expect(rd).toMatchObject({ 'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'snap', 'sasl.password': 'kafka-pw-1', 'ssl.ca.location': cfg.kafka.ssl_ca_file });
  });

  it('SASL without credentials is a config error naming the key', () => {
    expect(() => kafkajsSecurity(env({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }))).toThrow(/kafka.sasl_username/);
    expect(() => kafkajsSecurity(env({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'u' }))).toThrow(/kafka.sasl_password/);
  });

  it('a SASL failure becomes a KafkaAuthError naming broker, protocol and mechanism, never the password', () => {
    const cfg = env({ KAFKA_BROKERS: 'b1:9094', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'snap', KAFKA_SASL_PASSWORD: 'wrong-pw-xyz' });
    const raw = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials'), { name: 'KafkaJSSASLAuthenticationError' });
    const e = describeKafkaAuthError(cfg, raw) as Error;
    expect(e).toBeInstanceOf(KafkaAuthError);
    expect(e.message).toMatch(/broker b1:9094/);
    expect(e.message).toMatch(/SASL_SSL/);
    expect(e.message).toMatch(/SCRAM-SHA-512/);
    expect(e.message).not.toContain('wrong-pw-xyz');
    const other = new Error('connection refused');
    expect(describeKafkaAuthError(cfg, other)).toBe(other);
  });
});

describe('schema registry basic auth, Redis AUTH/TLS', () => {
  it('the registry client sends the basic-auth header', async () => {
    let seen: string | undefined;
    const server = createServer((req, res) => {
      seen = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const opts = registryOptions(loadConfig({ env: { SCHEMA_REGISTRY_URL: url, SCHEMA_REGISTRY_USERNAME: 'reg', SCHEMA_REGISTRY_PASSWORD: 'reg-pw' } }));
      await new SchemaRegistryClient(opts.registryUrl, opts.registryAuth).subjects();
      expect(seen).toBe(`Basic ${Buffer.from('reg:reg-pw').toString('base64')}`);
    } finally {
      server.close();
    }
    expect(() => registryOptions(loadConfig({ env: { SCHEMA_REGISTRY_USERNAME: 'reg' } }))).toThrow(/schema_registry.password/);
  });

  it('Redis password, ACL user and a private CA only with rediss://', () => {
    const ca = file('redis-ca.pem', 'PEM');
    expect(redisOptions(loadConfig({ env: { REDIS_URL: 'rediss://r:6380', REDIS_PASSWORD: 'rpw-1', SNAP_REDIS_USERNAME: 'snap', REDIS_TLS_CA_FILE: ca } }))).toEqual({ username: 'snap', password: 'rpw-1', tls: { ca: Buffer.from('PEM') } });
    expect(() => redisOptions(loadConfig({ env: { REDIS_URL: 'redis://r:6379', REDIS_TLS_CA_FILE: ca } }))).toThrow(/rediss:\/\//);
  });

  it('`config` output (redactConfig) shows no secret', () => {
    const cfg = loadConfig({
      env: { KAFKA_SASL_PASSWORD: 'M1', SCHEMA_REGISTRY_PASSWORD: 'M2', AWS_SECRET_ACCESS_KEY: 'M3', REDIS_PASSWORD: 'M4', MASSIVE_API_KEY: 'M5', GATEWAY_TOKEN: 'M6' },
    });
    const text = JSON.stringify(redactConfig(cfg));
    for (const m of ['M1', 'M2', 'M3', 'M4', 'M5', 'M6']) expect(text).not.toContain(`"${m}"`);
  });
});
