// Ground truth and scoring for scripted scenarios. The physical outcome is measured from the generated SPY
// quotes alone (what price actually did at the level), never from engine output; the engine's signal is then
// compared with it.
import type { InputEvent } from '../events';
import type { Direction, LevelPhysicsPayload, SignalName } from '../signals';

export type Expected = 'BREAK' | 'REJECT' | 'NONE';

/** A break is a move of ≥ breakDistance through the level; a reject is a touch followed by ≥ rejectDistance away. */
export const OUTCOME_RULES = { breakDistance: 0.25, rejectDistance: 0.2, touchBand: 0.05 } as const;

export interface PhysicalOutcome {
  outcome: Expected;
  /** First quote time at which the outcome was established (null for NONE). */
  tNs: bigint | null;
  /** First touch of the level (null if never touched). */
  touchNs: bigint | null;
}

/** `direction` is the test's context: SUPPORT = price comes from above, RESISTANCE = from below (plan §3.2). */
export function physicalOutcome(events: Iterable<InputEvent>, underlying: string, level: number, direction: Direction, rules = OUTCOME_RULES): PhysicalOutcome {
  const s = direction === 'SUPPORT' ? 1 : -1; // +1: "beyond" the level is below it
  let touchNs: bigint | null = null;
  for (const ev of events) {
    if (ev.schema !== 'stocks.quotes.v1' || ev.symbol !== underlying) continue;
    const mid = (ev.bid_px + ev.ask_px) / 2;
    const above = s * (mid - level); // distance on the approach side (negative = through the level)
    if (above <= -rules.breakDistance + 1e-9) return { outcome: 'BREAK', tNs: ev.ts_event_ns, touchNs: touchNs ?? ev.ts_event_ns };
    if (above <= rules.touchBand + 1e-9 && touchNs === null) touchNs = ev.ts_event_ns;
    if (touchNs !== null && above >= rules.rejectDistance - 1e-9) return { outcome: 'REJECT', tNs: ev.ts_event_ns, touchNs };
  }
  return { outcome: 'NONE', tNs: null, touchNs };
}

export interface ScenarioVerdict {
  expected: Expected;
  got: Expected;
  /** Event time of the first tick with the expected signal at the level before the outcome (else of the first decisive signal there; null if none). */
  signalNs: bigint | null;
  /** ms from the signal to the physical outcome (positive = the signal came first); null when not applicable. */
  leadMs: number | null;
  pass: boolean;
  /** The level ids the engine reported at the scenario's price. */
  levelIds: string[];
  detail: string;
}

const DECISIVE: ReadonlySet<SignalName> = new Set(['BREAK', 'REJECT']);

/**
 * Grades engine payloads against ground truth. A forecast is a signal raised strictly before the physical outcome:
 *   BREAK / REJECT scenario: PASS when the expected signal appears at the scenario's level at some tick before the
 *     outcome (lead > 0) AND the opposite signal never appears at that level before the outcome — a forecast that
 *     said both has not called it. `got` is the first decisive signal at the level before the outcome.
 *   NONE scenario (quiet): PASS when no BREAK/REJECT appears at ANY level at any time.
 *   A scenario whose generated data did not physically produce its expected outcome (`observed` ≠ `expected`) fails
 *     whatever the engine said: the scenario, not the engine, is wrong for that seed.
 */
export function gradeScenario(
  payloads: readonly LevelPhysicsPayload[],
  scn: { level: number; expected: Expected; observed?: Expected; tEventNs: bigint; startNs: bigint },
): ScenarioVerdict {
  const ids = new Set<string>();
  let first: { sig: SignalName; ts: bigint; id: string } | null = null;
  let expectedSeen: { ts: bigint; id: string } | null = null;
  let oppositeSeen: { ts: bigint; id: string } | null = null;
  let anyDecisive: { sig: SignalName; ts: bigint; id: string } | null = null;
  const opposite: SignalName | null = scn.expected === 'BREAK' ? 'REJECT' : scn.expected === 'REJECT' ? 'BREAK' : null;
  for (const p of payloads) {
    const ts = BigInt(p.ts_event_ns);
    for (const l of p.levels) {
      const atLevel = Math.abs(l.price - scn.level) < 1e-6;
      if (atLevel) ids.add(l.id);
      if (!DECISIVE.has(l.signal)) continue;
      if (!anyDecisive) anyDecisive = { sig: l.signal, ts, id: l.id };
      if (!atLevel || ts >= scn.tEventNs) continue;
      if (!first) first = { sig: l.signal, ts, id: l.id };
      if (l.signal === scn.expected && !expectedSeen) expectedSeen = { ts, id: l.id };
      if (l.signal === opposite && !oppositeSeen) oppositeSeen = { ts, id: l.id };
    }
  }
  const levelIds = [...ids].sort();
  const invalid = scn.observed !== undefined && scn.observed !== scn.expected;
  if (scn.expected === 'NONE') {
    const got: Expected = anyDecisive ? (anyDecisive.sig as Expected) : 'NONE';
    return {
      expected: 'NONE',
      got,
      signalNs: anyDecisive?.ts ?? null,
      leadMs: null,
      pass: got === 'NONE' && !invalid,
      levelIds,
      detail: invalid
        ? `scenario invalid for this seed: the market did ${scn.observed}, not NONE`
        : anyDecisive
          ? `${anyDecisive.sig} at ${anyDecisive.id}`
          : 'no BREAK/REJECT at any level',
    };
  }
  const got: Expected = first ? (first.sig as Expected) : 'NONE';
  const leadMs = expectedSeen ? Number(scn.tEventNs - expectedSeen.ts) / 1e6 : first ? Number(scn.tEventNs - first.ts) / 1e6 : null;
  const pass = !invalid && expectedSeen !== null && oppositeSeen === null;
  let detail: string;
  if (invalid) detail = `scenario invalid for this seed: the market did ${scn.observed}, not ${scn.expected}`;
  else if (expectedSeen && oppositeSeen) detail = `${scn.expected} at ${expectedSeen.id}, but also ${opposite} at ${oppositeSeen.id} before the outcome`;
  else if (expectedSeen) detail = `${scn.expected} at ${expectedSeen.id}`;
  else if (oppositeSeen) detail = `${opposite} at ${oppositeSeen.id}`;
  else detail = ids.size ? 'no decisive signal at the level before the outcome' : 'level never reported by the engine';
  return { expected: scn.expected, got, signalNs: expectedSeen?.ts ?? first?.ts ?? null, leadMs, pass, levelIds, detail };
}
