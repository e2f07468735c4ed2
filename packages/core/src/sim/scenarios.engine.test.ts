// Each scripted scenario through the real engine (runCore), with each barrier source, for seeds 1–3 (the default seed
// set of `snap-engine scenarios`): the scenario's market must physically produce its label, the expected BREAK/REJECT
// must appear at the level strictly before the physical outcome, and the opposite signal must not appear there before
// it (for `quiet`: no BREAK/REJECT anywhere). A failure here is a finding about the engine on a market whose outcome
// is known — see `npx snap-engine scenarios` for the full table with lead times.
import { parseConfig } from '../config';
import { runCore } from '../snap-engine';
import type { LevelPhysicsPayload, LevelSignal } from '../signals';
import { gradeScenario } from './outcome';
import { SCENARIOS, type Scenario } from './scenarios';

const SEEDS = [1, 2, 3];
const cases = SCENARIOS.flatMap((d) => SEEDS.flatMap((seed) => (['l1', 'mbp10'] as const).map((source) => [d.name, seed, source, d] as const)));

describe('scenarios through the engine (seeds 1–3, both barrier sources)', () => {
  const built = new Map<string, Scenario>();
  it.each(cases)('%s seed %i via %s', (name, seed, source, def) => {
    const key = `${name}/${seed}`;
    const scn = built.get(key) ?? def.build(seed);
    built.set(key, scn);
    expect(scn.observed).toBe(scn.expected);
    const payloads = runCore(parseConfig({ barrier: { source } }), scn.underlying, scn.events);
    expect(payloads.length).toBeGreaterThan(100);
    const v = gradeScenario(payloads, scn);
    expect({ scenario: name, seed, source, pass: v.pass, detail: v.detail }).toEqual({ scenario: name, seed, source, pass: true, detail: expect.any(String) });
    if (scn.expected !== 'NONE') expect(v.leadMs!).toBeGreaterThan(0);
  });
});

describe('gradeScenario', () => {
  const L = 680;
  const row = (signal: LevelSignal['signal'], price = L): LevelSignal => ({ id: 'X', price, signal }) as unknown as LevelSignal;
  const payload = (tMs: number, ...levels: LevelSignal[]): LevelPhysicsPayload =>
    ({ ts: tMs, ts_event_ns: String(BigInt(tMs) * 1_000_000n), underlying: 'SPY', spy: { spot: 0, bid: 0, ask: 0 }, levels }) as LevelPhysicsPayload;
  const scn = { level: L, expected: 'BREAK' as const, observed: 'BREAK' as const, tEventNs: 10_000_000_000n, startNs: 0n };

  it('passes a BREAK raised before the outcome, with its lead', () => {
    const v = gradeScenario([payload(1000, row('NEUTRAL')), payload(7000, row('BREAK'))], scn);
    expect(v).toMatchObject({ pass: true, got: 'BREAK', leadMs: 3000 });
  });
  it('fails when the opposite signal also appeared at the level before the outcome (either order)', () => {
    expect(gradeScenario([payload(1000, row('REJECT')), payload(7000, row('BREAK'))], scn).pass).toBe(false);
    expect(gradeScenario([payload(1000, row('BREAK')), payload(7000, row('REJECT'))], scn).pass).toBe(false);
    // at another level it does not count against this one
    expect(gradeScenario([payload(1000, row('REJECT', 681)), payload(7000, row('BREAK'))], scn).pass).toBe(true);
  });
  it('a signal at or after the outcome is not a forecast', () => {
    expect(gradeScenario([payload(10_000, row('BREAK'))], scn)).toMatchObject({ pass: false, got: 'NONE' });
    expect(gradeScenario([payload(12_000, row('BREAK'))], scn).pass).toBe(false);
  });
  it('a scenario whose market did not produce its label fails, whatever the engine said', () => {
    const v = gradeScenario([payload(7000, row('BREAK'))], { ...scn, observed: 'NONE' });
    expect(v.pass).toBe(false);
    expect(v.detail).toMatch(/scenario invalid/);
  });
  it('quiet: any BREAK/REJECT at any level fails', () => {
    const quiet = { ...scn, expected: 'NONE' as const, observed: 'NONE' as const };
    expect(gradeScenario([payload(1000, row('CONTESTED'), row('NEUTRAL', 681))], quiet).pass).toBe(true);
    expect(gradeScenario([payload(1000, row('NEUTRAL'), row('REJECT', 681))], quiet)).toMatchObject({ pass: false, got: 'REJECT' });
  });
});
