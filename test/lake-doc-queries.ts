// The DuckDB queries of docs/lake.md, as its tests run them: every ```sql block, its documented result columns
// (`-- columns: a, b`) and form (`-- form: minio` for the S3 one; local otherwise). Comment lines are dropped; the
// runnable statement is the block's last one (the INSTALL/SECRET lines before it are DuckDB's S3 setup).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocQuery {
  form: 'local' | 'minio';
  columns: string[];
  /** The SELECT as written in the doc. */
  sql: string;
  /** The whole block (setup statements included). */
  block: string;
}

export function lakeDocQueries(path = join(__dirname, '..', 'docs', 'lake.md')): DocQuery[] {
  const text = readFileSync(path, 'utf8');
  const out: DocQuery[] = [];
  for (const m of text.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const block = m[1]!;
    const columns = /^-- columns: (.+)$/m.exec(block)?.[1]?.split(',').map((c) => c.trim());
    if (!columns) throw new Error(`docs/lake.md: a sql block has no "-- columns:" line:\n${block}`);
    const form = /^-- form: minio$/m.test(block) ? 'minio' : 'local';
    const statements = block
      .split('\n')
      .filter((l) => !l.startsWith('--'))
      .join('\n')
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean);
    out.push({ form, columns, sql: statements[statements.length - 1]!, block });
  }
  return out;
}
