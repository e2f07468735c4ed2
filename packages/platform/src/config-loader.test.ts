import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@snap/core';
import { loadConfig } from './config-loader';

describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.snap.tick_ms).toBe(250);
    expect(cfg.score).toMatchObject({ w_l: 0.45, w_h: 0.35, w_t: 0.2 });
    expect(cfg.kafka.brokers).toEqual(['127.0.0.1:9092']);
  });

  it('layers file < env, including sections whose names contain underscores', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ tape: { window_ms: 7000, band: 0.2 }, underlyings: ['SPY', 'QQQ'] }));
    const cfg = loadConfig({ file, env: { SNAP_TAPE_WINDOW_MS: '9000', SNAP_SCHEMA_REGISTRY_URL: 'http://10.0.0.1:8081', KAFKA_BROKERS: 'a:1,b:2', TOPIC_PREFIX: 't1.' } });
    expect(cfg.tape.window_ms).toBe(9000);
    expect(cfg.tape.band).toBe(0.2);
    expect(cfg.underlyings).toEqual(['SPY', 'QQQ']);
    expect(cfg.schema_registry.url).toBe('http://10.0.0.1:8081');
    expect(cfg.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(cfg.kafka.topic_prefix).toBe('t1.');
  });

  it.each([
    [{ SNAP_TAPE_WINDOW_MS: 'abc' }, 'tape.window_ms'],
    [{ SNAP_SNAP_TICK_MS: '50' }, 'snap.tick_ms'],
    [{ SNAP_BARRIER_SOURCE: 'l3' }, 'barrier.source'],
    [{ SNAP_TAPE_NOPE: '1' }, 'tape.nope'],
    [{ SCHEMA_REGISTRY_URL: 'not a url' }, 'schema_registry.url'],
  ])('a bad value %j stops with the key named', (env, key) => {
    let err: unknown;
    try {
      loadConfig({ env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
    expect((err as Error).message).toContain(key);
  });
});
