// Live symbology: a live session's metadata carries no mappings; the gateway instead sends one SymbolMappingMsg per
// resolved instrument (stype_in_symbol = what was requested, e.g. ES.c.0 or ES.FUT; stype_out_symbol = the raw
// contract, e.g. ESH6), and again when a continuous symbol rolls to another contract. Pure.
import type { SymbolMappingMsg } from '../records';

export interface InstrumentSymbol {
  instrumentId: number;
  /** The symbol as subscribed (ES.c.0, ES.FUT, ESH6). */
  requested: string;
  /** The raw contract (ESH6). */
  raw: string;
}

export class LiveSymbology {
  private readonly byId = new Map<number, InstrumentSymbol>();

  /** Records a mapping; returns true when it changed what the instrument resolves to. */
  push(m: SymbolMappingMsg): boolean {
    const prev = this.byId.get(m.instrument_id);
    const next: InstrumentSymbol = { instrumentId: m.instrument_id, requested: m.stype_in_symbol, raw: m.stype_out_symbol };
    this.byId.set(m.instrument_id, next);
    return !prev || prev.requested !== next.requested || prev.raw !== next.raw;
  }

  get(instrumentId: number): InstrumentSymbol | undefined {
    return this.byId.get(instrumentId);
  }

  /**
   * The symbol events carry: the requested symbol for continuous and raw requests — the same name a historical DBN
   * file's metadata mappings give the instrument (so `feed databento` and `feed dbn` of the same data produce the
   * same events) — but the raw contract for a parent request, which fans out to many contracts that must stay apart.
   */
  eventSymbol(instrumentId: number): string | undefined {
    const s = this.byId.get(instrumentId);
    if (!s) return undefined;
    return /\.(FUT|OPT|SPOT)$/.test(s.requested) ? s.raw : s.requested;
  }

  /** Requested symbol → the raw contracts it currently resolves to. */
  resolved(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const s of this.byId.values()) (out[s.requested] ??= []).push(s.raw);
    return out;
  }

  get size(): number {
    return this.byId.size;
  }
}
