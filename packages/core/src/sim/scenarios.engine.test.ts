// Each scripted scenario through the real engine (runCore), with each barrier source: the engine's first
// BREAK/REJECT at the level, at or before the physical outcome, must be the scenario's ground truth
// (for `quiet`: no BREAK/REJECT anywhere). A failure here is a finding about the engine on a market whose
// outcome is known — see `npx snap-engine scenarios` for the full table with lead times.
import { parseConfig } from '../config';
import { runCore } from '../snap-engine';
import { gradeScenario } from './outcome';
import { SCENARIOS } from './scenarios';

const cases = SCENARIOS.flatMap((d) => (['l1', 'mbp10'] as const).map((source) => [d.name, source, d] as const));

describe('scenarios through the engine (seed 1)', () => {
  const built = new Map<string, ReturnType<(typeof SCENARIOS)[number]['build']>>();
  it.each(cases)('%s via %s', (name, source, def) => {
    const scn = built.get(name) ?? def.build(1);
    built.set(name, scn);
    const payloads = runCore(parseConfig({ barrier: { source } }), scn.underlying, scn.events);
    expect(payloads.length).toBeGreaterThan(100);
    const v = gradeScenario(payloads, scn);
    expect({ scenario: name, source, got: v.got, detail: v.detail }).toEqual({ scenario: name, source, got: scn.expected, detail: expect.any(String) });
    if (scn.expected !== 'NONE') expect(v.leadMs!).toBeGreaterThanOrEqual(0);
  });
});
