// Which inputs each engine reads, and the diagnostics every runner (embedded `run`/`demo`, the Kafka processor, eval)
// shares: an input that is missing, or that stopped while the others went on, is named ONCE per underlying with what
// it costs and where to look, instead of a silent `"payloads": 0`.
//
// The needs (plan §5, per underlying, with its barrier source — barrierSourceOf):
//   stocks.quotes.v1            spot and the level universe: REQUIRED (no valid quote → no payload at all); the L1
//                               barrier's book and the tape's aggressor side; with MBP-10, the ES→underlying basis
//   stocks.trades.v1            the tape (imbalance, velocity, sweeps), the VWAP and session high/low levels; L1: fills
//   options.greeks_snapshots.v1 the fuel engine's gamma per contract (no snapshot → option trades are skipped)
//   options.trades.v1           the fuel engine's dealer gamma flow, call/put walls and HVL levels
//   futures.mbp10.v1            MBP-10 barrier only: the futures book at the level
//   futures.trades.v1           MBP-10 barrier only: fills against the book
// Pure: no clock, no I/O; event time only.
import { barrierSourceOf, type Config } from './config';
import type { DataInputSchema, InputEvent } from './events';

export interface InputNeed {
  schema: DataInputSchema;
  /** Without it the engine writes no payload for the underlying. */
  required: boolean;
  /** What reads it, in words ("spot and the levels", "the L1 barrier"). */
  readers: string[];
  /** What the data is, for the message ("SPY quotes"). */
  what: string;
}

/** The inputs one underlying's engines read under `cfg`, in topic order. */
export function inputNeeds(cfg: Config, underlying: string): InputNeed[] {
  const mbp10 = barrierSourceOf(cfg, underlying) === 'mbp10';
  const u = underlying;
  const needs: InputNeed[] = [
    {
      schema: 'stocks.trades.v1',
      required: false,
      what: `${u} trades`,
      readers: ['the tape (imbalance, velocity, sweeps)', 'the VWAP and session high/low levels', ...(mbp10 ? [] : ['the L1 barrier (fills)'])],
    },
    {
      schema: 'stocks.quotes.v1',
      required: true,
      what: `${u} quotes`,
      readers: ['spot and the levels', mbp10 ? 'the ES basis of the MBP-10 barrier' : 'the L1 barrier', 'the tape (aggressor side)'],
    },
    { schema: 'options.trades.v1', required: false, what: `${u} option trades`, readers: ['the fuel engine (dealer gamma, call/put walls, HVL)'] },
    { schema: 'options.greeks_snapshots.v1', required: false, what: `${u} option greeks snapshots`, readers: ['the fuel engine (gamma per contract; option trades without a snapshot are skipped)'] },
  ];
  if (mbp10) {
    needs.push(
      { schema: 'futures.trades.v1', required: false, what: `futures trades for ${u}`, readers: ['the MBP-10 barrier (fills)'] },
      { schema: 'futures.mbp10.v1', required: true, what: `futures MBP-10 book for ${u}`, readers: ['the MBP-10 barrier'] },
    );
  }
  return needs;
}

export type InputIssueKind = 'missing' | 'stale' | 'no_data';

export interface InputIssue {
  kind: InputIssueKind;
  underlying: string;
  /** Unset for no_data (nothing at all for the underlying). */
  schema?: DataInputSchema;
  /** The engine writes no payload for the underlying without it. */
  required: boolean;
  /** One line: what is missing, who needs it, what to do. */
  message: string;
  /** stale: event time of the input's last record. */
  lastNs?: bigint;
}

export interface InputDiagnosticsOptions {
  /**
   * An input silent this long (event time) while the underlying's other inputs kept coming is stale; one never seen
   * after this much of the underlying's data is missing (a live processor has no end of input). Default 5 min.
   */
  staleMs?: number;
  /** Where the fix is explained (default docs/data.md). */
  docs?: string;
}

const isoOfNs = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();

interface PerUnderlying {
  needs: InputNeed[];
  last: Map<DataInputSchema, bigint>;
  /** Start of the current stretch of continuous data (no gap > staleNs/2): a market closed overnight is no outage. */
  activeSinceNs: bigint | null;
  lastDataNs: bigint | null;
  firstNs: bigint | null;
  nextCheckNs: bigint;
  events: number;
}

/**
 * Watches a run's input and names what is missing or stale, once each. `observe` per event (cheap: a map lookup, and a
 * staleness check once per second of event time), `finish` at the end of input for what never came.
 */
export class InputDiagnostics {
  private readonly staleNs: bigint;
  private readonly docs: string;
  private readonly per = new Map<string, PerUnderlying>();
  private readonly reported = new Set<string>();
  readonly issues: InputIssue[] = [];

  constructor(
    private readonly cfg: Config,
    opts: InputDiagnosticsOptions = {},
  ) {
    this.staleNs = BigInt(Math.round((opts.staleMs ?? 300_000) * 1e6));
    this.docs = opts.docs ?? 'docs/data.md';
    for (const u of new Set(cfg.underlyings)) this.per.set(u, { needs: inputNeeds(cfg, u), last: new Map(), activeSinceNs: null, lastDataNs: null, firstNs: null, nextCheckNs: 0n, events: 0 });
  }

  /** New issues this event revealed (an input gone stale), usually none. */
  observe(ev: InputEvent): InputIssue[] {
    if (ev.schema === 'heartbeat.v1') return NONE;
    const p = this.per.get(ev.key);
    if (!p) return NONE;
    const t = ev.ts_event_ns;
    p.events++;
    p.firstNs ??= t;
    p.last.set(ev.schema, t);
    if (p.lastDataNs === null || t - p.lastDataNs > this.staleNs / 2n) p.activeSinceNs = t;
    if (p.lastDataNs === null || t > p.lastDataNs) p.lastDataNs = t;
    if (t < p.nextCheckNs) return NONE;
    p.nextCheckNs = t + 1_000_000_000n;
    let out: InputIssue[] | null = null;
    for (const n of p.needs) {
      const last = p.last.get(n.schema);
      if (last === undefined) {
        // Never seen after staleMs of this underlying's data: missing (an input may start a little late in a file).
        if (t - p.firstNs! > this.staleNs) {
          const issue = this.missing(ev.key, n);
          if (issue) (out ??= []).push(issue);
        }
        continue;
      }
      if (t - last <= this.staleNs || t - p.activeSinceNs! <= this.staleNs) continue;
      const issue = this.add({
        kind: 'stale',
        underlying: ev.key,
        schema: n.schema,
        required: n.required,
        lastNs: last,
        message: `${n.schema} for ${ev.key} stopped at ${isoOfNs(last)} while the other inputs went on: ${listOf(n.readers)} ${n.readers.length > 1 ? 'need' : 'needs'} ${n.what}; see ${this.docs}`,
      });
      if (issue) (out ??= []).push(issue);
    }
    return out ?? NONE;
  }

  /** Issues for inputs that never came (and underlyings with no data at all). Call once, at the end of input. */
  finish(): InputIssue[] {
    const out: InputIssue[] = [];
    for (const [u, p] of this.per) {
      if (p.events === 0) {
        const issue = this.add({
          kind: 'no_data',
          underlying: u,
          required: true,
          message: `no input at all for ${u} (it is in underlyings): its records are keyed by another underlying, or the input holds none; every record's "key" must name the underlying it serves; see ${this.docs}`,
        });
        if (issue) out.push(issue);
        continue;
      }
      for (const n of p.needs) {
        if (p.last.has(n.schema)) continue;
        const issue = this.missing(u, n);
        if (issue) out.push(issue);
      }
    }
    return out;
  }

  private missing(u: string, n: InputNeed): InputIssue | null {
    const consequence = n.required ? ` (without them no payload is written for ${u})` : '';
    return this.add({
      kind: 'missing',
      underlying: u,
      schema: n.schema,
      required: n.required,
      message: `no ${n.schema} for ${u}: ${listOf(n.readers)} ${n.readers.length > 1 ? 'need' : 'needs'} ${n.what}${consequence}; see ${this.docs}`,
    });
  }

  private add(issue: InputIssue): InputIssue | null {
    const id = `${issue.kind}|${issue.underlying}|${issue.schema ?? ''}`;
    if (this.reported.has(id)) return null;
    this.reported.add(id);
    this.issues.push(issue);
    return issue;
  }
}

const NONE: InputIssue[] = [];

function listOf(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
