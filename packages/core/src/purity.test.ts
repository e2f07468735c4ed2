// DESIGN decision 1: the core is pure. Scan every source file of packages/core/src (tests excluded) for I/O imports,
// clock reads, randomness and process access.
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = __dirname;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [p] : [];
  });
}

const FORBIDDEN: [string, RegExp][] = [
  ['I/O module import', /\bfrom\s+['"](node:)?(fs|fs\/promises|net|http|https|http2|dgram|tls|child_process|worker_threads|cluster|os|readline|dns)['"]/],
  ['I/O module require', /\brequire\(\s*['"](node:)?(fs|net|http|https|child_process|os)['"]\s*\)/],
  ['kafka/redis/s3 client', /\bfrom\s+['"](kafkajs|node-rdkafka|ioredis|@aws-sdk\/[^'"]+|ws)['"]/],
  ['process access', /\bprocess\./],
  ['clock read', /\bDate\.now\b|\bperformance\.now\b|new Date\(\s*\)/],
  ['randomness', /\bMath\.random\b|\bcrypto\.random/],
  ['timers', /\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/],
];

describe('packages/core/src is pure (no I/O, no clock, no randomness)', () => {
  const files = sources(root);
  it('finds the core sources', () => {
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['snap-engine.ts', 'barrier.ts', 'tape.ts', 'fuel.ts', 'merge.ts']));
  });
  it.each(FORBIDDEN)('no %s', (_what, re) => {
    const offenders = files.filter((f) => re.test(fs.readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '')));
    expect(offenders.map((f) => path.relative(root, f))).toEqual([]);
  });
  it('the scanner itself catches a forbidden line', () => {
    expect(FORBIDDEN.some(([, re]) => re.test("import { readFileSync } from 'node:fs';"))).toBe(true);
    expect(FORBIDDEN.some(([, re]) => re.test('const t = Date.now();'))).toBe(true);
    expect(FORBIDDEN.some(([, re]) => re.test('if (Math.random() < 0.5) x++;'))).toBe(true);
  });
});
