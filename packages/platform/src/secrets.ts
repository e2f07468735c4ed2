// Secrets of the connection settings (issue 11): each comes from its config key or from a file named by `<key>_file`
// (a mounted Kubernetes secret). Every secret value that is read is also registered with the logger, which masks it
// in any line it writes, so a secret echoed back by a library error cannot reach a log.
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '@snap/core';
import { registerSecret } from './logger';

/**
 * The secret of `key` (dotted, e.g. "kafka.sasl_password"): the file's content (trailing newline dropped) when the file
 * key is set, else the value; undefined when neither is. Both set is a contradiction and refused, naming both keys.
 */
export function readSecret(value: string | undefined, file: string | undefined, key: string): string | undefined {
  if (value !== undefined && file !== undefined) throw new ConfigError(`both "${key}" and "${key}_file" are set: keep one`, key);
  let out = value;
  if (file !== undefined) {
    try {
      out = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      // The path is not secret; the content never reaches here.
      throw new ConfigError(`cannot read "${key}_file" ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, `${key}_file`);
    }
    if (out === '') throw new ConfigError(`"${key}_file" ${file} is empty`, `${key}_file`);
  }
  if (out) registerSecret(out);
  return out;
}

/** Reads a PEM file named by a config key (CA bundles). */
export function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read "${key}" ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, key);
  }
}

/** A URL with any user:password part removed, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/** The registry URL and basic auth of the config, as EnvelopeCodec options. */
export function registryOptions(cfg: Pick<Config, 'schema_registry'>): { registryUrl: string; registryAuth?: { username: string; password: string } } {
  const r = cfg.schema_registry;
  const password = readSecret(r.password, r.password_file, 'schema_registry.password');
  if (!r.username && !password) return { registryUrl: r.url };
  if (!r.username || !password) throw new ConfigError('schema registry basic auth needs both "schema_registry.username" and "schema_registry.password" (or "schema_registry.password_file")', r.username ? 'schema_registry.password' : 'schema_registry.username');
  return { registryUrl: r.url, registryAuth: { username: r.username, password } };
}

/** ioredis options for redis.username / password(_file) / tls_ca_file (TLS itself is the rediss:// scheme of redis.url). */
export function redisOptions(cfg: Pick<Config, 'redis'>): { username?: string; password?: string; tls?: { ca: Buffer } } {
  const r = cfg.redis;
  const password = readSecret(r.password, r.password_file, 'redis.password');
  const out: { username?: string; password?: string; tls?: { ca: Buffer } } = {};
  if (r.username) out.username = r.username;
  if (password) out.password = password;
  if (r.tls_ca_file) {
    if (!r.url.startsWith('rediss://')) throw new ConfigError(`"redis.tls_ca_file" is set but redis.url is not rediss:// (TLS): ${safeUrl(r.url)}`, 'redis.tls_ca_file');
    out.tls = { ca: readPem(r.tls_ca_file, 'redis.tls_ca_file') };
  }
  return out;
}
