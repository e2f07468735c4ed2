// The feature dictionary against the code: its names are exactly the columns of a real levels.signals.v1 row produced
// by the engine, every window it names is a config key, and docs/features.md is its generated rendering, byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from './config';
import { FEATURE_COLUMNS, FEATURES, GOLD_COLUMNS, OUTPUT_COLUMNS, featuresMarkdown } from './features';
import { toSignalRows } from './signals';
import { simulateSession } from './sim/session';
import { runCore } from './snap-engine';

const DOC = join(__dirname, '..', '..', '..', 'docs', 'features.md');

describe('feature dictionary', () => {
  it('names exactly the columns of a real Gold row produced by the engine on a short simulated session', () => {
    const payloads = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 3, durationMs: 30_000 }));
    const rows = payloads.flatMap(toSignalRows);
    expect(rows.length).toBeGreaterThan(0);
    const columns = new Set(rows.flatMap((r) => Object.keys(r)));
    expect([...GOLD_COLUMNS].sort()).toEqual([...columns].sort());
    expect(new Set(GOLD_COLUMNS).size).toBe(GOLD_COLUMNS.length);
  });

  it('gives every column a definition, units and a leakage note; windows that name config keys exist', () => {
    const cfg = defaultConfig() as unknown as Record<string, Record<string, unknown>>;
    for (const f of FEATURES) {
      expect(f.definition.length).toBeGreaterThan(10);
      expect(f.units).not.toBe('');
      expect(f.leakage).not.toBe('');
      if (/^[a-z_]+\.[a-z_]+$/.test(f.window)) {
        const [section, key] = f.window.split('.') as [string, string];
        expect({ column: f.name, window: f.window, known: cfg[section]?.[key] !== undefined }).toEqual({ column: f.name, window: f.window, known: true });
      }
    }
    expect(FEATURE_COLUMNS).toContain('barrier_delta_liq');
    expect(OUTPUT_COLUMNS).toEqual(expect.arrayContaining(['break_score_smooth', 'signal']));
  });

  it('docs/features.md is the generated dictionary (regenerate: npx snap-engine features --markdown > docs/features.md)', () => {
    expect(readFileSync(DOC, 'utf8')).toBe(featuresMarkdown());
  });
});
