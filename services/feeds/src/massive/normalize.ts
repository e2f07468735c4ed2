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
const optInt = z.number().int().optional();

export const StockTradeWire = z.object({
  ev: z.literal('T'),
  sym: z.string().min(1),
  x: optInt,
  i: z.union([z.string(), z.number()]).optional(),
  z: optInt,
  p: price,
  s: size,
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
export const OptionTradeWire = z.object({ ev: z.literal('T'), sym: z.string().min(1), x: optInt, p: price, s: size, c: z.array(z.number().int()).optional(), t: msInt, q: optInt });
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

/** Last option BBO per contract, fed by Q.O:* quotes and read when classifying T.O:* trades. */
export class OptionBboBook {
  private readonly book = new Map<string, { bid: number; ask: number; ts_ms: number }>();
  update(q: OptionQuoteWire): void {
    const prev = this.book.get(q.sym);
    // A quote older than what we hold (a reconnect replay) must not roll the BBO back.
    if (prev && prev.ts_ms > q.t) return;
    this.book.set(q.sym, { bid: q.bp, ask: q.ap, ts_ms: q.t });
  }
  get(sym: string): { bid: number; ask: number; ts_ms: number } | undefined {
    return this.book.get(sym);
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
    event_id: makeEventId({ source: MASSIVE_WS_SOURCE, ts_event_ns, symbol: m.sym, price: m.p, size: m.s, exchange, seq: m.q ?? null, vendor_id }),
    symbol: m.sym,
    price: m.p,
    size: m.s,
    exchange,
    conditions: m.c ?? [],
  };
}

export function normalizeStockQuote(m: StockQuoteWire, ctx: IngestContext): StockQuote {
  const ts_event_ns = ns(m.t);
  return {
    schema: 'stocks.quotes.v1',
    ...wsEnvelope(ts_event_ns, m.sym, ctx),
    // No vendor id on quotes: the vendor sequence number q stands in for it, with both sides in the hash.
    event_id: makeEventId({ source: MASSIVE_WS_SOURCE, ts_event_ns, symbol: m.sym, price: m.bp, size: m.bs, exchange: `${m.bx ?? ''}/${m.ax ?? ''}/${m.ap}/${m.as}`, seq: m.q ?? null }),
    symbol: m.sym,
    bid_px: m.bp,
    ask_px: m.ap,
    bid_sz: m.bs,
    ask_sz: m.as,
    bid_exch: m.bx ?? null,
    ask_exch: m.ax ?? null,
  };
}

export function normalizeOptionTrade(m: OptionTradeWire, contract: OptionContract, bbo: { bid: number; ask: number } | undefined, ctx: IngestContext): OptionTrade {
  const ts_event_ns = ns(m.t);
  const opt_bid = bbo ? bbo.bid : null;
  const opt_ask = bbo ? bbo.ask : null;
  return {
    schema: 'options.trades.v1',
    ...wsEnvelope(ts_event_ns, contract.underlying, ctx),
    event_id: makeEventId({ source: MASSIVE_WS_SOURCE, ts_event_ns, symbol: m.sym, price: m.p, size: m.s, exchange: m.x ?? null, seq: m.q ?? null }),
    underlying: contract.underlying,
    option_symbol: m.sym,
    exp_date: contract.exp_date,
    strike: contract.strike,
    right: contract.right,
    price: m.p,
    size: m.s,
    opt_bid,
    opt_ask,
    aggressor: classifyAggressor(m.p, opt_bid, opt_ask),
  };
}

export type NormalizedItem =
  | { kind: 'event'; event: StockTrade | StockQuote | OptionTrade }
  /** Option quote: it only updated the BBO book (there is no options.quotes topic in v1). */
  | { kind: 'bookkeeping'; sym: string }
  | { kind: 'status'; status: StatusWire }
  | { kind: 'error'; error: NormalizeError };

export interface MassiveNormalizerOptions {
  cluster: MassiveCluster;
  /** Underlyings we serve (keys of the bus). A symbol outside them is dead-lettered or skipped per `onUnknownUnderlying`. */
  underlyings: readonly string[];
  /** Wildcard subscriptions (T.*) bring every symbol: 'skip' drops the others silently (counted), 'dead_letter' reports them. */
  onUnknownUnderlying?: 'dead_letter' | 'skip';
}

/**
 * Stateful only in the option BBO book; everything else is a pure mapping. One instance per cluster connection
 * family (the book survives reconnects, the quotes it holds are still the last ones seen).
 */
export class MassiveNormalizer {
  readonly bbo = new OptionBboBook();
  private readonly underlyings: Set<string>;
  skippedUnknownUnderlying = 0;

  constructor(private readonly opts: MassiveNormalizerOptions) {
    this.underlyings = new Set(opts.underlyings);
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
    const ictx: IngestContext = { ts_recv_ns: ctx.ts_recv_ns, seq: ctx.nextSeq() };
    return { kind: 'event', event: normalizeOptionTrade(r.data as OptionTradeWire, contract, this.bbo.get(r.data.sym), ictx) };
  }

  private unknown(underlying: string, fail: (reason: string) => NormalizedItem): NormalizedItem | null {
    if (this.opts.onUnknownUnderlying === 'skip') {
      this.skippedUnknownUnderlying++;
      return null;
    }
    return fail(`unknown underlying ${JSON.stringify(underlying)} (configured: ${[...this.underlyings].join(',')})`);
  }
}
