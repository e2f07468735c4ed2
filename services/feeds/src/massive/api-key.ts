// The Massive API key: config massive.api_key (env MASSIVE_API_KEY) or a file named by massive.api_key_file
// (env MASSIVE_API_KEY_FILE, e.g. a Kubernetes secret mount). The key itself never reaches a log line or an
// error message: everything that might echo it goes through redactSecret.
import { readFileSync } from 'node:fs';
import type { Config } from '@snap/core';

export class MassiveApiKeyError extends Error {
  constructor(
    message: string,
    readonly key: 'massive.api_key' | 'massive.api_key_file',
  ) {
    super(message);
    this.name = 'MassiveApiKeyError';
  }
}

export function resolveMassiveApiKey(massive: Pick<Config['massive'], 'api_key' | 'api_key_file'>, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): string {
  if (massive.api_key !== undefined && massive.api_key.trim() !== '') return massive.api_key.trim();
  if (massive.api_key_file) {
    let text: string;
    try {
      text = readFile(massive.api_key_file);
    } catch (e) {
      throw new MassiveApiKeyError(`cannot read massive.api_key_file ${massive.api_key_file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'massive.api_key_file');
    }
    const key = text.trim();
    if (key === '') throw new MassiveApiKeyError(`massive.api_key_file ${massive.api_key_file} is empty`, 'massive.api_key_file');
    if (/\s/.test(key)) throw new MassiveApiKeyError(`massive.api_key_file ${massive.api_key_file} holds more than one token (whitespace inside the key)`, 'massive.api_key_file');
    return key;
  }
  throw new MassiveApiKeyError('no Massive API key: set massive.api_key (env MASSIVE_API_KEY) or massive.api_key_file (env MASSIVE_API_KEY_FILE)', 'massive.api_key');
}

/** Replaces every occurrence of the secret (and of apiKey=… query values) in a text meant for logs or errors. */
export function redactSecret(text: string, secret: string | undefined): string {
  let out = text.replace(/([?&]apiKey=)[^&#\s"]*/gi, '$1***');
  if (secret && secret.length > 0) out = out.split(secret).join('***');
  return out;
}
