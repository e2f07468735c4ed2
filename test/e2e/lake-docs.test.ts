// docs/lake.md's DuckDB queries, run as written against the lake of a real `snap-engine demo` run (Gold, Bronze and
// _meta/ under its DATA_ROOT): each returns rows with exactly the columns its `-- columns:` line documents.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { lakeDocQueries } from '../lake-doc-queries';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

describe('docs/lake.md DuckDB queries', () => {
  let lake: string;
  beforeAll(() => {
    lake = mkdtempSync(join(tmpdir(), 'e2e-lake-docs-'));
    execFileSync(process.execPath, [BIN, 'demo', '--seed', '2', '--duration', '4m'], { cwd: ROOT, env: { ...process.env, DATA_ROOT: lake, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  }, 180_000);
  afterAll(() => rmSync(lake, { recursive: true, force: true }));

  const queries = lakeDocQueries();

  it('the doc has local queries over Gold, Bronze and _meta, and a MinIO form', () => {
    const local = queries.filter((q) => q.form === 'local');
    expect(local.length).toBeGreaterThanOrEqual(5);
    for (const tier of ['/gold/', '/bronze/', '/_meta/']) expect(local.some((q) => q.sql.includes(`.data/lake${tier}`))).toBe(true);
    expect(queries.filter((q) => q.form === 'minio')).toHaveLength(1);
  });

  it.each(queries.filter((q) => q.form === 'local').map((q) => [q.columns.join(', '), q] as const))('returns rows with the documented columns: %s', async (_name, q) => {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const r = await con.runAndReadAll(q.sql.replaceAll('.data/lake', lake));
      expect(r.columnNames()).toEqual(q.columns);
      expect(r.currentRowCount).toBeGreaterThan(0);
    } finally {
      con.closeSync();
      db.closeSync();
    }
  });
});
