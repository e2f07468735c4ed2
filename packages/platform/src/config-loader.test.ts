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

describe('loadConfig refuses what it would otherwise ignore', () => {
  const fileWith = (content: unknown) => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.json');
    writeFileSync(file, JSON.stringify(content));
    return file;
  };
  const errorOf = (fn: () => unknown): ConfigError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  it.each([
    [{ tape: { windw_ms: 7000 } }, 'tape.windw_ms'],
    [{ tapes: { window_ms: 7000 } }, 'tapes'],
    [{ kafka: { brokers: ['a:1'], nope: true } }, 'kafka.nope'],
    [{ schema_registry: { url: 'http://x:1', urll: 'y' } }, 'schema_registry.urll'],
  ])('an unknown key in a config file %j is refused with its path', (content, key) => {
    const file = fileWith(content);
    const e = errorOf(() => loadConfig({ file, env: {} }));
    expect(e.key).toBe(key);
    expect(e.message).toContain(`"${key}"`);
    expect(e.message).toContain(file);
  });

  it('a config file that is not an object is refused', () => {
    expect(errorOf(() => loadConfig({ file: fileWith([1, 2]), env: {} })).key).toBe('(file)');
  });

  it('known keys in a file still load (every section, nested)', () => {
    const cfg = loadConfig({ file: fileWith({ lake: { flush_rows: 10 }, processor: { inputs: ['stocks.quotes.v1'] }, kafka: { topic_prefix: '' } }), env: {} });
    expect(cfg.lake.flush_rows).toBe(10);
    expect(cfg.processor.inputs).toEqual(['stocks.quotes.v1']);
  });

  it.each([
    ['KAFKA_BROKERS', 'kafka.brokers'],
    ['REDIS_URL', 'redis.url'],
    ['S3_ENDPOINT', 's3.endpoint'],
    ['SNAP_TAPE_WINDOW_MS', 'tape.window_ms'],
    ['SNAP_KAFKA_GROUP_ID', 'kafka.group_id'],
    ['MASSIVE_API_KEY', 'massive.api_key'],
  ])('%s= (set but empty) is refused naming the variable, not replaced by the default', (name, key) => {
    for (const v of ['', '  ']) {
      const e = errorOf(() => loadConfig({ env: { [name]: v } }));
      expect(e.key).toBe(key);
      expect(e.message).toContain(name);
    }
  });

  it('an empty prefix is a real value where the default is empty', () => {
    const cfg = loadConfig({ env: { TOPIC_PREFIX: '', SNAP_LAKE_KEY_PREFIX: '' } });
    expect(cfg.kafka.topic_prefix).toBe('');
    expect(cfg.lake.key_prefix).toBe('');
  });

  it('an empty string in a config file is refused where the default is not empty', () => {
    const e = errorOf(() => loadConfig({ file: fileWith({ redis: { url: '' } }), env: {} }));
    expect(e.key).toBe('redis.url');
  });

  it('SNAP_RUN_DIR (the stack harness) is not taken for a config key', () => {
    expect(loadConfig({ env: { SNAP_RUN_DIR: '/tmp/x', SNAP_CACHE: '/tmp/y' } }).snap.tick_ms).toBe(250);
  });

  it.each([
    [{ SNAP_SCORE_BREAK_THRESHOLD: '20', SNAP_SCORE_REJECT_THRESHOLD: '30' }, 'score.reject_threshold', 'score.break_threshold'],
    [{ SNAP_SCORE_BREAK_THRESHOLD: '50', SNAP_SCORE_REJECT_THRESHOLD: '50' }, 'score.reject_threshold', 'score.break_threshold'],
    [{ SNAP_BARRIER_R_VAC: '2' }, 'barrier.r_vac', 'barrier.r_wall'],
    [{ SNAP_LEVELS_TOUCH_BAND: '0.6' }, 'levels.touch_band', 'levels.monitor_band'],
    [{ SNAP_TAPE_VELOCITY_WINDOW_MS: '6000' }, 'tape.velocity_window_ms', 'tape.window_ms'],
    [{ SNAP_TAPE_SWEEP_MAX_GAP_MS: '300' }, 'tape.sweep_max_gap_ms', 'tape.sweep_max_span_ms'],
    [{ SNAP_BARRIER_FILL_MATCH_MS: '6000' }, 'barrier.fill_match_ms', 'barrier.window_ms'],
    [{ SNAP_BARRIER_WEAK_BASELINE_MS: '5000' }, 'barrier.window_ms', 'barrier.weak_baseline_ms'],
    [{ SNAP_FUEL_WALL_WINDOW_MS: '60000' }, 'fuel.window_ms', 'fuel.wall_window_ms'],
  ])('cross-field rule: %j is refused naming both keys', (env, a, b) => {
    const e = errorOf(() => loadConfig({ env }));
    expect(e.key).toBe(a);
    expect(e.message).toContain(`"${a}"`);
    expect(e.message).toContain(`"${b}"`);
  });

  it('the boundary of an or-equal rule is accepted, and a consistent change of both keys passes', () => {
    expect(loadConfig({ env: { SNAP_TAPE_VELOCITY_WINDOW_MS: '5000' } }).tape.velocity_window_ms).toBe(5000);
    // The hysteresis exits move with the entry thresholds (reject ≤ reject exit < break exit ≤ break).
    const cfg = loadConfig({ env: { SNAP_SCORE_BREAK_THRESHOLD: '90', SNAP_SCORE_REJECT_THRESHOLD: '85', SNAP_SIGNAL_REJECT_EXIT_THRESHOLD: '86', SNAP_SIGNAL_BREAK_EXIT_THRESHOLD: '88' } });
    expect(cfg.score).toMatchObject({ break_threshold: 90, reject_threshold: 85 });
    expect(cfg.signal).toMatchObject({ reject_exit_threshold: 86, break_exit_threshold: 88 });
  });
});
