import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@snap/platform';
import { MassiveApiKeyError, redactSecret, resolveMassiveApiKey } from './api-key';

describe('resolveMassiveApiKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'massive-key-'));

  it('reads MASSIVE_API_KEY through the config loader', () => {
    const cfg = loadConfig({ env: { MASSIVE_API_KEY: 'k-from-env' } });
    expect(resolveMassiveApiKey(cfg.massive)).toBe('k-from-env');
  });

  it('reads MASSIVE_API_KEY_FILE (trimmed), and api_key wins over the file', () => {
    const f = join(dir, 'key');
    writeFileSync(f, '  k-from-file\n');
    expect(resolveMassiveApiKey(loadConfig({ env: { MASSIVE_API_KEY_FILE: f } }).massive)).toBe('k-from-file');
    expect(resolveMassiveApiKey(loadConfig({ env: { MASSIVE_API_KEY_FILE: f, MASSIVE_API_KEY: 'direct' } }).massive)).toBe('direct');
  });

  it('names the key in typed errors and never echoes file contents', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const two = join(dir, 'two');
    writeFileSync(two, 'secret-one secret-two');
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as MassiveApiKeyError;
      }
      throw new Error('expected an error');
    };
    const none = err(() => resolveMassiveApiKey({}));
    expect(none).toBeInstanceOf(MassiveApiKeyError);
    expect(none.key).toBe('massive.api_key');
    expect(none.message).toMatch(/MASSIVE_API_KEY/);
    const missing = err(() => resolveMassiveApiKey({ api_key_file: join(dir, 'nope') }));
    expect(missing.key).toBe('massive.api_key_file');
    expect(missing.message).toMatch(/cannot read massive\.api_key_file .*nope: ENOENT/);
    expect(err(() => resolveMassiveApiKey({ api_key_file: empty })).message).toMatch(/is empty/);
    const multi = err(() => resolveMassiveApiKey({ api_key_file: two }));
    expect(multi.message).toMatch(/more than one token/);
    expect(multi.message).not.toContain('secret-');
  });
});

describe('redactSecret', () => {
  it('removes the key wherever it appears and any apiKey= query value', () => {
    expect(redactSecret('GET http://h/v3?a=1&apiKey=abc123&b=2 failed for abc123', 'abc123')).toBe('GET http://h/v3?a=1&apiKey=***&b=2 failed for ***');
    expect(redactSecret('http://h/x?apiKey=other', undefined)).toBe('http://h/x?apiKey=***');
  });
});
