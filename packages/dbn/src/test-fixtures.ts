// Locating Databento's real DBN sample files for tests. They are read-only and never copied into the repo:
// tests read them from ../shared/dbn-fixtures beside the repo root, or from $DBN_FIXTURES.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES_DIR = process.env.DBN_FIXTURES ?? resolve(__dirname, '../../../../shared/dbn-fixtures');

export function fixture(name: string): string {
  const p = join(FIXTURES_DIR, name);
  if (!existsSync(p)) throw new Error(`DBN fixture ${p} not found (set DBN_FIXTURES to the fixtures directory)`);
  return p;
}

/** Every fixture file, edge cases under "edge/". */
export function allFixtures(): string[] {
  const top = readdirSync(FIXTURES_DIR).filter((f) => /\.dbn(\.zst)?$/.test(f));
  const edge = existsSync(join(FIXTURES_DIR, 'edge')) ? readdirSync(join(FIXTURES_DIR, 'edge')).map((f) => `edge/${f}`) : [];
  return [...top, ...edge].sort();
}
