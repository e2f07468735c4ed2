// Renders the config reference table from the zod schema itself, so the README cannot drift from the code
// (a unit test compares the README's table with this output).
import { ConfigSchema, ENV_ALIASES, defaultConfig } from '@snap/core';

function unwrap(s: any): any {
  while (s?.def?.innerType) s = s.def.innerType;
  return s;
}

export function configRows(): { key: string; default: string; env: string }[] {
  const defaults = defaultConfig() as Record<string, any>;
  const aliasOf = Object.fromEntries(Object.entries(ENV_ALIASES).map(([env, key]) => [key, env]));
  const rows: { key: string; default: string; env: string }[] = [];
  const shape = unwrap(ConfigSchema).def.shape as Record<string, any>;
  for (const [section, sch] of Object.entries(shape)) {
    const inner = unwrap(sch);
    if (inner?.def?.type === 'object') {
      for (const key of Object.keys(inner.def.shape)) {
        const dotted = `${section}.${key}`;
        const env = [aliasOf[dotted], `SNAP_${section.toUpperCase()}_${key.toUpperCase()}`].filter(Boolean).join(', ');
        rows.push({ key: dotted, default: JSON.stringify(defaults[section]?.[key]) ?? '(unset)', env });
      }
    } else {
      rows.push({ key: section, default: JSON.stringify(defaults[section]), env: aliasOf[section] ?? '' });
    }
  }
  return rows;
}

export function configTableMarkdown(): string {
  const lines = ['| key | default | env |', '| --- | --- | --- |'];
  for (const r of configRows()) lines.push(`| \`${r.key}\` | \`${r.default.replace(/\|/g, '\\|')}\` | ${r.env} |`);
  return lines.join('\n');
}
