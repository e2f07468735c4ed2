// Massive (Polygon legacy) WebSocket wire events → normalized input events (plan §11.1 → §2.4).
// Pure: no clock, no I/O. ts_recv_ns and seq come in from the caller, so the same frames and the same
// ingest context always yield the same events. Validation is zod; every failure is a NormalizeError that
// carries the raw bytes so the feed can dead-letter it (DESIGN decision 5).
import { z } from 'zod';
import { makeEventId, type Aggressor, type OptionRight, type OptionTrade, type Source, type StockQuote, type StockTrade } from '@snap/core';

export const MASSIVE_WS_SOURCE: Source = 'massive_ws';

/** Why a frame or one message of a frame could not be normalized; `raw` is exactly what should be dead-lettered. */
export class NormalizeError extends Error {
  constructor(
    readonly reason: string,
    readonly raw: Buffer,
  ) {
    super(reason);
    this.name = 'NormalizeError';
  }
}

/** A contract ticker that does not follow `O:<UNDERLYING><YYMMDD><C|P><STRIKE8>`. */
export class OptionTickerError extends Error {
  constructor(
    readonly ticker: string,
    readonly why: string,
  ) {
    super(`bad option ticker ${JSON.stringify(ticker)}: ${why}`);
    this.name = 'OptionTickerError';
  }
}

export interface OptionContract {
  /** The ticker as the vendor wrote it, e.g. O:SPY251216C00676000. */
  option_symbol: string;
  underlying: string;
  /** YYYY-MM-DD */
  exp_date: string;
  right: OptionRight;
  strike: number;
}

// Non-greedy root so roots ending in a digit (adjusted contracts such as O:AAPL1…) still parse: the anchored
// 6+1+8 tail decides where the root ends.
const TICKER_RE = /^O:([A-Z][A-Z0-9.]{0,9}?)(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/;

const daysInMonth = (year: number, month: number) => [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;

export function parseOptionTicker(ticker: string): OptionContract {
  if (typeof ticker !== 'string') throw new OptionTickerError(String(ticker), 'not a string');
  if (!ticker.startsWith('O:')) throw new OptionTickerError(ticker, 'missing "O:" prefix');
  const m = TICKER_RE.exec(ticker);
  if (!m) throw new OptionTickerError(ticker, 'expected O:<UNDERLYING><YYMMDD><C|P><STRIKE8>');
  const [, underlying, yy, mm, dd, right, strike8] = m as unknown as [string, string, string, string, string, OptionRight, string];
  // Listed options expire this century; YY is read as 20YY.
  const year = 2000 + Number(yy);
  const month = Number(mm);
  const day = Number(dd);
  if (month < 1 || month > 12) throw new OptionTickerError(ticker, `month ${mm} out of range`);
  if (day < 1 || day > daysInMonth(year, month)) throw new OptionTickerError(ticker, `day ${dd} does not exist in ${year}-${mm}`);
  const strikeMilli = Number(strike8);
  if (strikeMilli === 0) throw new OptionTickerError(ticker, 'strike is zero');
  return { option_symbol: ticker, underlying, exp_date: `${year}-${mm}-${dd}`, right, strike: strikeMilli / 1000 };
}

/** Inverse of parseOptionTicker: O:SPY251216C00676000 from (SPY, 2025-12-16, C, 676). */
export function formatOptionTicker(underlying: string, exp_date: string, right: OptionRight, strike: number): string {
  const m = /^\d{2}(\d{2})-(\d{2})-(\d{2})$/.exec(exp_date);
  if (!m) throw new OptionTickerError(`${underlying} ${exp_date}`, `expiration ${JSON.stringify(exp_date)} is not YYYY-MM-DD`);
  const milli = Math.round(strike * 1000);
  if (!(milli > 0 && milli < 1e8)) throw new OptionTickerError(`${underlying} ${exp_date}`, `strike ${strike} does not fit 8 digits of 1/1000`);
  return `O:${underlying}${m[1]}${m[2]}${m[3]}${right}${String(milli).padStart(8, '0')}`;
}

// ---- wire schemas (§11.1). Unknown extra fields are allowed: the vendor adds fields without notice.
const msInt = z.number().int().nonnegative();
const price = z.number().finite().nonnegative();
const size = z.number().int().nonnegative();
/** Trade sizes: whole shares or contracts in `s`; fractional share trades (reported since February 2026) are non-integer. */
const tradeSize = z.number().finite().nonnegative();
/** `ds`: the exact decimal size as a string (or number); preferred over `s` when present, so fractions are not truncated. */
const decimalSize = z.union([z.string().regex(/^\d+(\.\d+)?$/), z.number().finite().nonnegative()]).optional();
const optInt = z.number().int().optional();

export const StockTradeWire = z.object({
  ev: z.literal('T'),
  sym: z.string().min(1),
  x: optInt,
  i: z.union([z.string(), z.number()]).optional(),
  z: optInt,
  p: price,
  s: tradeSize,
  ds: decimalSize,
  c: z.array(z.number().int()).optional(),
  t: msInt,
  q: optInt,
  trfi: optInt,
  trft: msInt.optional(),
});
export const StockQuoteWire = z.object({
  ev: z.literal('Q'),
  sym: z.string().min(1),
  bx: optInt,
  bp: price,
  bs: size,
  ax: optInt,
  ap: price,
  as: size,
  c: optInt,
  i: z.array(z.number().int()).optional(),
  t: msInt,
  q: optInt,
  z: optInt,
});
export const OptionTradeWire = z.object({ ev: z.literal('T'), sym: z.string().min(1), x: optInt, p: price, s: tradeSize, ds: decimalSize, c: z.array(z.number().int()).optional(), t: msInt, q: optInt });
export const OptionQuoteWire = z.object({ ev: z.literal('Q'), sym: z.string().min(1), bx: optInt, ax: optInt, bp: price, ap: price, bs: size, as: size, t: msInt, q: optInt });
export type StockTradeWire = z.infer<typeof StockTradeWire>;
export type StockQuoteWire = z.infer<typeof StockQuoteWire>;
export type OptionTradeWire = z.infer<typeof OptionTradeWire>;
export type OptionQuoteWire = z.infer<typeof OptionQuoteWire>;

export const StatusWire = z.object({ ev: z.literal('status'), status: z.string(), message: z.string().optional() });
export type StatusWire = z.infer<typeof StatusWire>;

export type MassiveCluster = 'stocks' | 'options';

/** Parses one WebSocket text frame: it must be a JSON array (Massive always batches messages in arrays). */
export function decodeFrame(raw: Buffer): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new NormalizeError(`frame is not valid JSON: ${(e as Error).message}`, raw);
  }
  if (!Array.isArray(parsed)) throw new NormalizeError(`frame is not a JSON array (got ${parsed === null ? 'null' : typeof parsed})`, raw);
  return parsed;
}

const ns = (ms: number) => BigInt(ms) * 1_000_000n;

const zodReason = (what: string, err: z.ZodError) => {
  const i = err.issues[0]!;
  return `${what}: field "${i.path.join('.') || '(root)'}" ${i.message}`;
};

export interface IngestContext {
  /** Receive time stamped by the shell's clock at ingest. */
  ts_recv_ns: bigint;
  /** Per-connection sequence number (diagnostics only: it is not part of event_id, so a resend dedups). */
  seq: bigint | null;
}

/** Exact trade size: the decimal `ds` when the vendor sent it (fractional shares), else `s`. */
export function tradeSizeOf(m: { s: number; ds?: string | number | undefined }): number {
  return m.ds === undefined ? m.s : Number(m.ds);
}

// ---- option trade conditions (OPRA), by the vendor's condition ids (GET /v3/reference/conditions?asset_class=options;
// names as the vendor publishes them). What each means for Fuel's customer side:
//   cancel   — the print was cancelled (or is the cancel of the last/opening/only print): it never happened → excluded.
//   late     — reported late / out of sequence: its timestamp is the report time, so no quote as of it tells the side,
//              and it would land in the wrong flow window → excluded.
//   complex  — a leg of a multi-leg or stock-option order: the leg price is set against the package, not the single
//              leg NBBO, so quote-based side is meaningless, and the package's gamma nets across legs → excluded.
//   regular  — everything else (auto-execution, ISO, single-leg auctions/crosses/floor, reopening, extended hours).
// An id not in the table is treated as regular and counted (the vendor adds ids without notice).
export type OptionConditionClass = 'regular' | 'cancel' | 'late' | 'complex';
export const OPTION_TRADE_CONDITIONS: Readonly<Record<number, { name: string; class: OptionConditionClass }>> = {
  201: { name: 'Canceled', class: 'cancel' },
  202: { name: 'Late and Out Of Sequence', class: 'late' },
  203: { name: 'Last and Canceled', class: 'cancel' },
  204: { name: 'Late', class: 'late' },
  205: { name: 'Opening Trade and Canceled', class: 'cancel' },
  206: { name: 'Opening Trade, Late, and Out Of Sequence', class: 'late' },
  207: { name: 'Only Trade and Canceled', class: 'cancel' },
  208: { name: 'Opening Trade and Late', class: 'late' },
  209: { name: 'Automatic Execution', class: 'regular' },
  210: { name: 'Reopening Trade', class: 'regular' },
  219: { name: 'Intermarket Sweep Order', class: 'regular' },
  227: { name: 'Single Leg Auction Non ISO', class: 'regular' },
  228: { name: 'Single Leg Auction ISO', class: 'regular' },
  229: { name: 'Single Leg Cross Non ISO', class: 'regular' },
  230: { name: 'Single Leg Cross ISO', class: 'regular' },
  231: { name: 'Single Leg Floor Trade', class: 'regular' },
  232: { name: 'Multi Leg auto-electronic trade', class: 'complex' },
  233: { name: 'Multi Leg Auction', class: 'complex' },
  234: { name: 'Multi Leg Cross', class: 'complex' },
  235: { name: 'Multi Leg floor trade', class: 'complex' },
  236: { name: 'Multi Leg auto-electronic trade against single leg(s)', class: 'complex' },
  237: { name: 'Stock Options Auction', class: 'complex' },
  238: { name: 'Multi Leg Auction against single leg(s)', class: 'complex' },
  239: { name: 'Multi Leg floor trade against single leg(s)', class: 'complex' },
  240: { name: 'Stock Options auto-electronic trade', class: 'complex' },
  241: { name: 'Stock Options Cross', class: 'complex' },
  242: { name: 'Stock Options floor trade', class: 'complex' },
  243: { name: 'Stock Options auto-electronic trade against single leg(s)', class: 'complex' },
  244: { name: 'Stock Options Auction against single leg(s)', class: 'complex' },
  245: { name: 'Stock Options floor trade against single leg(s)', class: 'complex' },
  246: { name: 'Multi Leg Floor Trade of Proprietary Products', class: 'complex' },
  247: { name: 'Multilateral Compression Trade of Proprietary Products', class: 'complex' },
  248: { name: 'Extended Hours Trade', class: 'regular' },
};

/** The most restrictive class among a print's conditions (cancel > late > complex > regular), and whether an id was unknown. */
export function classifyOptionConditions(c: readonly number[] | undefined): { class: OptionConditionClass; unknown: number[] } {
  const rank: Record<OptionConditionClass, number> = { regular: 0, complex: 1, late: 2, cancel: 3 };
  let cls: OptionConditionClass = 'regular';
  const unknown: number[] = [];
  for (const id of c ?? []) {
    const e = OPTION_TRADE_CONDITIONS[id];
    if (!e) unknown.push(id);
    else if (rank[e.class] > rank[cls]) cls = e.class;
  }
  return { class: cls, unknown };
}

interface BookQuote {
  bid: number;
  ask: number;
  ts_ms: number;
}
/** Quotes kept per contract: enough to find the one in force at a trade that arrives just after a newer quote. */
const QUOTE_HISTORY = 8;

/**
 * Option NBBO per contract, fed by Q.O:* quotes, with a short history so a trade is matched with the quote in force
 * AS OF its own timestamp (quote t ≤ trade t), not with whatever arrived last.
 */
export class OptionBboBook {
  private readonly book = new Map<string, BookQuote[]>();
  update(q: OptionQuoteWire): void {
    let h = this.book.get(q.sym);
    if (!h) this.book.set(q.sym, (h = []));
    // Kept sorted by time: a replayed older quote (reconnect) goes to its place and never becomes the latest.
    let i = h.length;
    while (i > 0 && h[i - 1]!.ts_ms > q.t) i--;
    h.splice(i, 0, { bid: q.bp, ask: q.ap, ts_ms: q.t });
    if (h.length > QUOTE_HISTORY) h.splice(0, h.length - QUOTE_HISTORY);
  }
  /** The latest quote whatever its time. */
  get(sym: string): BookQuote | undefined {
    const h = this.book.get(sym);
    return h?.[h.length - 1];
  }
  /** The quote in force at tMs: the latest with ts ≤ tMs. */
  asOf(sym: string, tMs: number): BookQuote | undefined {
    const h = this.book.get(sym);
    if (!h) return undefined;
    for (let i = h.length - 1; i >= 0; i--) if (h[i]!.ts_ms <= tMs) return h[i];
    return undefined;
  }
  /** Drops contracts no longer subscribed so the book does not grow across expiries. */
  retain(keep: (sym: string) => boolean): void {
    for (const k of this.book.keys()) if (!keep(k)) this.book.delete(k);
  }
  get size(): number {
    return this.book.size;
  }
}

/** §2.4: price ≥ ask → buyer lifted (+1); price ≤ bid → seller hit (−1); inside or no BBO → 0. Ask is checked first on a locked/crossed book. */
export function classifyAggressor(price: number, bid: number | null, ask: number | null): Aggressor {
  if (ask !== null && ask > 0 && price >= ask) return 1;
  if (bid !== null && bid > 0 && price <= bid) return -1;
  return 0;
}

/** How a trade's customer side was decided: the NBBO as of the trade, the tick rule, or not at all. */
export type SideMethod = 'quote' | 'tick' | 'unknown';

export interface OptionSide {
  sign: Aggressor;
  method: SideMethod;
  /** A quote existed at the trade time but was older than the configured age, so it was not used. */
  staleQuote: boolean;
  /** The quote used (null unless method is quote or the quote was fresh but the trade sat exactly at mid). */
  quote: BookQuote | null;
}

/**
 * Customer side of an option print (options trades carry no side): a quote no older than maxQuoteAgeMs at the trade
 * time decides (≥ ask buy, ≤ bid sell, inside by the mid); else — no fresh quote, or exactly at mid — the tick rule
 * against the previous regular print of the contract (zero tick keeps the previous sign); else unknown (0).
 */
export function inferOptionSide(price: number, tMs: number, quote: BookQuote | undefined, maxQuoteAgeMs: number, prev: { price: number; sign: Aggressor } | undefined): OptionSide {
  const fresh = quote !== undefined && tMs - quote.ts_ms <= maxQuoteAgeMs && quote.bid > 0 && quote.ask >= quote.bid ? quote : null;
  const staleQuote = quote !== undefined && fresh === null;
  if (fresh) {
    const atTouch = classifyAggressor(price, fresh.bid, fresh.ask);
    if (atTouch !== 0) return { sign: atTouch, method: 'quote', staleQuote, quote: fresh };
    const mid = (fresh.bid + fresh.ask) / 2;
    if (price > mid) return { sign: 1, method: 'quote', staleQuote, quote: fresh };
    if (price < mid) return { sign: -1, method: 'quote', staleQuote, quote: fresh };
  }
  if (prev) {
    const sign: Aggressor = price > prev.price ? 1 : price < prev.price ? -1 : prev.sign;
    if (sign !== 0) return { sign, method: 'tick', staleQuote, quote: fresh };
  }
  return { sign: 0, method: 'unknown', staleQuote, quote: fresh };
}

/** The envelope of a record normalized from a WebSocket message (its event_id is derived per schema). */
function wsEnvelope(ts_event_ns: bigint, key: string, ctx: IngestContext) {
  return { schema_version: 1, source: MASSIVE_WS_SOURCE, ts_event_ns, ts_recv_ns: ctx.ts_recv_ns, key, seq: ctx.seq };
}

export function normalizeStockTrade(m: StockTradeWire, ctx: IngestContext): StockTrade {
  const ts_event_ns = ns(m.t);
  const exchange = m.x ?? null;
  // Vendor trade ids are unique per symbol, exchange and day, so the id is qualified by all three.
  const vendor_id = m.i !== undefined && m.i !== '' ? `${m.sym}:${exchange ?? ''}:${m.i}:${m.t}` : null;
  return {
    schema: 'stocks.trades.v1',
    ...wsEnvelope(ts_event_ns, m.sym, ctx),
    event_id: makeEventId({ source: MASSIVE_WS_SOURCE, ts_event_ns, symbol: m.sym, price: m.p, size: tradeSizeOf(m), exchange, seq: m.q ?? null, vendor_id }),
    symbol: m.sym,
    price: m.p,
    size: tradeSizeOf(m),
    exchange,
    conditions: m.c ?? [],
  };
}

/**
 * Stock quote sizes are shares on the wire since the SEC's round-lot change of 2025-11-03 (before it they were round
 * lots of 100), so a replay of older sessions is scaled to shares too. 05:00 UTC = midnight in New York that day.
 */
export const QUOTE_SIZES_IN_SHARES_SINCE_MS = Date.UTC(2025, 10, 3, 5, 0, 0);

export function normalizeStockQuote(m: StockQuoteWire, ctx: IngestContext): StockQuote {
  const ts_event_ns = ns(m.t);
  const lot = m.t < QUOTE_SIZES_IN_SHARES_SINCE_MS ? 100 : 1;
  return {
    schema: 'stocks.quotes.v1',
    ...wsEnvelope(ts_event_ns, m.sym, ctx),
    // No vendor id on quotes: the vendor sequence number q stands in for it, with both sides in the hash.
    event_id: makeEventId({ source: MASSIVE_WS_SOURCE, ts_event_ns, symbol: m.sym, price: m.bp, size: m.bs, exchange: `${m.bx ?? ''}/${m.ax ?? ''}/${m.ap}/${m.as}`, seq: m.q ?? null }),
    symbol: m.sym,
    bid_px: m.bp,
    ask_px: m.ap,
    bid_sz: m.bs * lot,
    ask_sz: m.as * lot,
    bid_exch: m.bx ?? null,
    ask_exch: m.ax ?? null,
  };
}

/**
 * An option print with its inferred customer side: `aggressor` is the side Fuel uses as is (§5.3 step 1), and
 * opt_bid/opt_ask are the NBBO as of the trade only when it was fresh enough to be used (null otherwise, so no
 * consumer falls back to a stale quote).
 */
export function normalizeOptionTrade(m: OptionTradeWire, contract: OptionContract, side: Pick<OptionSide, 'sign' | 'quote'>, ctx: IngestContext): OptionTrade {
  const ts_event_ns = ns(m.t);
  const size = tradeSizeOf(m);
  return {
    schema: 'options.trades.v1',
    ...wsEnvelope(ts_event_ns, contract.underlying, ctx),
    event_id: makeEventId({ source: MASSIVE_WS_SOURCE, ts_event_ns, symbol: m.sym, price: m.p, size, exchange: m.x ?? null, seq: m.q ?? null }),
    underlying: contract.underlying,
    option_symbol: m.sym,
    exp_date: contract.exp_date,
    strike: contract.strike,
    right: contract.right,
    price: m.p,
    size,
    opt_bid: side.quote ? side.quote.bid : null,
    opt_ask: side.quote ? side.quote.ask : null,
    aggressor: side.sign,
  };
}

export type NormalizedItem =
  | { kind: 'event'; event: StockTrade | StockQuote | OptionTrade }
  /** Option quote: it only updated the BBO book (there is no options.quotes topic in v1). */
  | { kind: 'bookkeeping'; sym: string }
  /** An option print left out of the trades topic by its condition codes (cancelled, late, multi-leg…): counted, not emitted. */
  | { kind: 'excluded'; sym: string; class: Exclude<OptionConditionClass, 'regular'>; conditions: number[] }
  | { kind: 'status'; status: StatusWire }
  | { kind: 'error'; error: NormalizeError };

export interface MassiveNormalizerOptions {
  cluster: MassiveCluster;
  /** Underlyings we serve (keys of the bus). A symbol outside them is dead-lettered or skipped per `onUnknownUnderlying`. */
  underlyings: readonly string[];
  /** Wildcard subscriptions (T.*) bring every symbol: 'skip' drops the others silently (counted), 'dead_letter' reports them. */
  onUnknownUnderlying?: 'dead_letter' | 'skip';
  /** An option quote older than this at the trade time is not used for its side (config massive.quote_max_age_ms). */
  quoteMaxAgeMs?: number;
}

/** Counts behind the side-inference metric (massive_option_trade_sides_total{method}) and the condition filter. */
export interface OptionTradeCounters {
  side: Record<SideMethod, number>;
  /** Trades whose latest quote at the trade time was older than quoteMaxAgeMs (so it was not used). */
  staleQuote: number;
  excluded: Record<Exclude<OptionConditionClass, 'regular'>, number>;
  /** Condition ids not in OPTION_TRADE_CONDITIONS (treated as regular). */
  unknownConditions: number;
}

export const DEFAULT_QUOTE_MAX_AGE_MS = 1000;

/**
 * Stateful only in the option BBO book; everything else is a pure mapping. One instance per cluster connection
 * family (the book survives reconnects, the quotes it holds are still the last ones seen).
 */
export class MassiveNormalizer {
  readonly bbo = new OptionBboBook();
  private readonly underlyings: Set<string>;
  /** Previous regular print per contract, for the tick rule. */
  private readonly lastPrint = new Map<string, { price: number; sign: Aggressor; ts_ms: number }>();
  skippedUnknownUnderlying = 0;
  readonly optionTrades: OptionTradeCounters = { side: { quote: 0, tick: 0, unknown: 0 }, staleQuote: 0, excluded: { cancel: 0, late: 0, complex: 0 }, unknownConditions: 0 };

  constructor(private readonly opts: MassiveNormalizerOptions) {
    this.underlyings = new Set(opts.underlyings);
  }

  /** Forgets contracts no longer subscribed (quote book and tick-rule memory). */
  retainContracts(keep: (sym: string) => boolean): void {
    this.bbo.retain(keep);
    for (const k of this.lastPrint.keys()) if (!keep(k)) this.lastPrint.delete(k);
  }

  /** Normalizes one frame. A frame-level failure yields a single error item; a bad message yields an error for that message only. */
  normalizeFrame(raw: Buffer, ctx: { ts_recv_ns: bigint; nextSeq: () => bigint | null }, decoded?: unknown[]): NormalizedItem[] {
    let msgs: unknown[];
    try {
      msgs = decoded ?? decodeFrame(raw);
    } catch (e) {
      if (e instanceof NormalizeError) return [{ kind: 'error', error: e }];
      throw e;
    }
    const out: NormalizedItem[] = [];
    msgs.forEach((msg, index) => {
      const item = this.normalizeMessage(msg, { ts_recv_ns: ctx.ts_recv_ns, nextSeq: ctx.nextSeq }, index);
      if (item) out.push(item);
    });
    return out;
  }

  normalizeMessage(msg: unknown, ctx: { ts_recv_ns: bigint; nextSeq: () => bigint | null }, index = 0): NormalizedItem | null {
    // The raw bytes of a single message are its JSON text: the frame around it also carried good messages that were emitted.
    const rawOf = () => Buffer.from(JSON.stringify(msg) ?? 'undefined', 'utf8');
    const fail = (reason: string): NormalizedItem => ({ kind: 'error', error: new NormalizeError(`${this.opts.cluster} message #${index}: ${reason}`, rawOf()) });
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return fail('message is not a JSON object');
    const ev = (msg as { ev?: unknown }).ev;
    if (ev === 'status') {
      const s = StatusWire.safeParse(msg);
      return s.success ? { kind: 'status', status: s.data } : fail(zodReason('status', s.error));
    }
    if (ev !== 'T' && ev !== 'Q') return fail(`unknown event type ev=${JSON.stringify(ev)}`);

    if (this.opts.cluster === 'stocks') {
      const r = ev === 'T' ? StockTradeWire.safeParse(msg) : StockQuoteWire.safeParse(msg);
      if (!r.success) return fail(zodReason(ev === 'T' ? 'stock trade' : 'stock quote', r.error));
      if (!this.underlyings.has(r.data.sym)) return this.unknown(r.data.sym, fail);
      const ictx: IngestContext = { ts_recv_ns: ctx.ts_recv_ns, seq: ctx.nextSeq() };
      return { kind: 'event', event: ev === 'T' ? normalizeStockTrade(r.data as StockTradeWire, ictx) : normalizeStockQuote(r.data as StockQuoteWire, ictx) };
    }

    const r = ev === 'T' ? OptionTradeWire.safeParse(msg) : OptionQuoteWire.safeParse(msg);
    if (!r.success) return fail(zodReason(ev === 'T' ? 'option trade' : 'option quote', r.error));
    let contract: OptionContract;
    try {
      contract = parseOptionTicker(r.data.sym);
    } catch (e) {
      if (e instanceof OptionTickerError) return fail(e.message);
      throw e;
    }
    if (!this.underlyings.has(contract.underlying)) return this.unknown(contract.underlying, fail);
    if (ev === 'Q') {
      this.bbo.update(r.data as OptionQuoteWire);
      return { kind: 'bookkeeping', sym: r.data.sym };
    }
    const t = r.data as OptionTradeWire;
    const cond = classifyOptionConditions(t.c);
    this.optionTrades.unknownConditions += cond.unknown.length;
    if (cond.class !== 'regular') {
      this.optionTrades.excluded[cond.class]++;
      return { kind: 'excluded', sym: t.sym, class: cond.class, conditions: t.c ?? [] };
    }
    const prev = this.lastPrint.get(t.sym);
    // A print older than the last one (reconnect replay) does not move the tick-rule reference.
    const side = inferOptionSide(t.p, t.t, this.bbo.asOf(t.sym, t.t), this.opts.quoteMaxAgeMs ?? DEFAULT_QUOTE_MAX_AGE_MS, prev && prev.ts_ms <= t.t ? prev : undefined);
    this.optionTrades.side[side.method]++;
    if (side.staleQuote) this.optionTrades.staleQuote++;
    if (!prev || prev.ts_ms <= t.t) this.lastPrint.set(t.sym, { price: t.p, sign: side.sign, ts_ms: t.t });
    const ictx: IngestContext = { ts_recv_ns: ctx.ts_recv_ns, seq: ctx.nextSeq() };
    return { kind: 'event', event: normalizeOptionTrade(t, contract, side, ictx) };
  }

  private unknown(underlying: string, fail: (reason: string) => NormalizedItem): NormalizedItem | null {
    if (this.opts.onUnknownUnderlying === 'skip') {
      this.skippedUnknownUnderlying++;
      return null;
    }
    return fail(`unknown underlying ${JSON.stringify(underlying)} (configured: ${[...this.underlyings].join(',')})`);
  }
}
