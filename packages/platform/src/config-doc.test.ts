import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configTableMarkdown } from './config-doc';

it('the README config table is the one the schema renders (run `npx snap-engine config --table` to refresh it)', () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const m = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
  expect(m).not.toBeNull();
  expect(m![1]).toBe(configTableMarkdown());
});
