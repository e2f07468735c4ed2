import { DatabentoApiKeyError, resolveDatabentoApiKey } from './databento-feed';

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
