import { DatabentoLiveClient } from '@snap/dbn';
import { DatabentoApiKeyError, DatabentoFeed, resolveDatabentoApiKey } from './databento-feed';

describe('resolveDatabentoApiKey', () => {
  const files: Record<string, string> = { '/run/secrets/db': 'db-FROMFILEabcdefghijklmnopq12345\n', '/empty': '  \n', '/two': 'a b' };
  const readFile = (p: string) => {
    if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return files[p]!;
  };

  it('reads DATABENTO_API_KEY, or a mounted file (which wins), trimmed', () => {
    expect(resolveDatabentoApiKey({ env: { DATABENTO_API_KEY: ' db-ENVkey12345 ' }, readFile })).toBe('db-ENVkey12345');
    expect(resolveDatabentoApiKey({ env: { DATABENTO_API_KEY: 'db-ENVkey12345', DATABENTO_API_KEY_FILE: '/run/secrets/db' }, readFile })).toBe('db-FROMFILEabcdefghijklmnopq12345');
    expect(resolveDatabentoApiKey({ file: '/run/secrets/db', env: {}, readFile })).toBe('db-FROMFILEabcdefghijklmnopq12345');
  });

  it('errors name where the key was looked for, never a key', () => {
    expect(() => resolveDatabentoApiKey({ env: {}, readFile })).toThrow(/no Databento API key: set DATABENTO_API_KEY/);
    expect(() => resolveDatabentoApiKey({ file: '/missing', env: {}, readFile })).toThrow(/cannot read the Databento API key file \/missing: ENOENT/);
    expect(() => resolveDatabentoApiKey({ file: '/empty', env: {}, readFile })).toThrow(DatabentoApiKeyError);
    expect(() => resolveDatabentoApiKey({ file: '/two', env: {}, readFile })).toThrow(/more than one token/);
  });
});

describe('DatabentoFeed health', () => {
  it('healthy while up; while reconnecting only for the grace period; never once failed', () => {
    const client = new DatabentoLiveClient({ apiKey: 'k', dataset: 'GLBX.MDP3', gateway: { host: '127.0.0.1', port: 9 }, subscriptions: [{ schema: 'trades', symbols: ['ES.c.0'] }] });
    const feed = new DatabentoFeed({ client, sink: { emit: async () => undefined, deadLetter: async () => undefined }, underlying: 'SPY', symbolRoot: 'ES', schemas: ['trades'] });
    const t = Date.now();
    expect(feed.healthy(60_000, t)).toBe(true); // connecting, just started
    expect(feed.healthy(60_000, t + 61_000)).toBe(false); // never connected within a minute
    client.emit('connected', { connection: 1, sessionId: '1', replayFrom: null });
    expect(feed.state).toBe('up');
    expect(feed.healthy(60_000, t + 120_000)).toBe(true);
    client.emit('disconnected', { connection: 1, reason: 'reset', retryInMs: 250 });
    expect(feed.state).toBe('reconnecting');
    const down = Date.now();
    expect(feed.healthy(60_000, down + 1_000)).toBe(true);
    expect(feed.healthy(60_000, down + 61_000)).toBe(false);
    client.emit('connected', { connection: 2, sessionId: '2', replayFrom: 5n });
    expect(feed.healthy(60_000, down + 61_000)).toBe(true);
  });
});
