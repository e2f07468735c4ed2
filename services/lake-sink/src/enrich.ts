// options.trades_enriched.v1 (plan §2.4 Silver): each option trade as-of joined with the latest greeks snapshot of
// its contract taken at or before the trade and at most `toleranceNs` older. Never a later snapshot (that would leak
// the future into a training row); no snapshot within the tolerance leaves the greeks columns null. Pure: no I/O.
//
// Notionals apply the contract multiplier (100 shares per equity option contract), in shares of the underlying:
//   delta_notional = delta · size · 100   (share-equivalent delta of the trade)
//   gamma_notional = gamma · size · 100   (change of that delta per $1 of the underlying)
// Dollar figures need the underlying's price, which is a Gold concern (the fuel engine), not a Silver join.
import type { ColumnSpec } from '@snap/platform';
import { ENVELOPE_COLUMNS, PAYLOAD_COLUMNS } from './datasets';
import type { SilverRow } from './silver';

export const OPTION_CONTRACT_MULTIPLIER = 100;

export const ENRICHED_COLUMNS: readonly ColumnSpec[] = [
  ...ENVELOPE_COLUMNS,
  ...PAYLOAD_COLUMNS['options.trades.v1'],
  { name: 'greeks_snapshot_id', type: 'dict_utf8', nullable: true },
  { name: 'delta', type: 'float64', nullable: true },
  { name: 'gamma', type: 'float64', nullable: true },
  { name: 'delta_notional', type: 'float64', nullable: true },
  { name: 'gamma_notional', type: 'float64', nullable: true },
  { name: 'join_tolerance_ns', type: 'int64' },
];

interface Snapshot {
  ts: bigint;
  id: string;
  delta: number;
  gamma: number;
}

export interface EnrichResult {
  rows: SilverRow[];
  /** Trades that found a snapshot within the tolerance. */
  joined: number;
}

/**
 * `trades` and `greeks` are Silver rows (deduped, sorted by ts_event_ns). Output keeps the trades' order. Snapshots
 * of one contract with the same time: the later one in Silver order wins (the newest delivered).
 */
export function enrichOptionTrades(trades: readonly SilverRow[], greeks: readonly SilverRow[], toleranceNs: bigint): EnrichResult {
  if (toleranceNs < 0n) throw new RangeError(`join tolerance must be non-negative, got ${toleranceNs} ns`);
  const byContract = new Map<string, Snapshot[]>();
  for (const g of greeks) {
    const sym = String(g.option_symbol);
    let list = byContract.get(sym);
    if (!list) byContract.set(sym, (list = []));
    list.push({ ts: g.ts_event_ns, id: String(g.snapshot_id), delta: g.delta as number, gamma: g.gamma as number });
  }
  for (const list of byContract.values()) list.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  let joined = 0;
  const rows = trades.map((t): SilverRow => {
    const snap = latestAtOrBefore(byContract.get(String(t.option_symbol)), t.ts_event_ns);
    const hit = snap !== null && t.ts_event_ns - snap.ts <= toleranceNs;
    if (hit) joined++;
    const size = t.size as number;
    return {
      ...t,
      greeks_snapshot_id: hit ? snap.id : null,
      delta: hit ? snap.delta : null,
      gamma: hit ? snap.gamma : null,
      delta_notional: hit ? snap.delta * size * OPTION_CONTRACT_MULTIPLIER : null,
      gamma_notional: hit ? snap.gamma * size * OPTION_CONTRACT_MULTIPLIER : null,
      join_tolerance_ns: toleranceNs,
    };
  });
  return { rows, joined };
}

/** The last snapshot with ts ≤ `ts` (binary search over a time-sorted list), or null. */
function latestAtOrBefore(list: readonly Snapshot[] | undefined, ts: bigint): Snapshot | null {
  if (!list?.length) return null;
  let lo = 0;
  let hi = list.length; // first index with list[i].ts > ts
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.ts <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? null : list[lo - 1]!;
}
