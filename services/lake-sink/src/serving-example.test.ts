import { readFileSync } from 'node:fs';
import { join } from 'node:path';

it('docs/features-serving.md shows the read example exactly as serving-example.ts implements it', () => {
  const src = readFileSync(join(__dirname, 'serving-example.ts'), 'utf8');
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'features-serving.md'), 'utf8');
  const code = /\/\/ example:start\n([\s\S]*?)\/\/ example:end/.exec(src);
  const shown = /<!-- serving-example:start -->\n```ts\n([\s\S]*?)```\n<!-- serving-example:end -->/.exec(doc);
  expect(code).not.toBeNull();
  expect(shown).not.toBeNull();
  expect(shown![1]).toBe(code![1]);
});
