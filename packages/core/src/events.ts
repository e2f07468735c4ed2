// Normalized input events (plan §2.1 envelope + §2.4 payloads). These shapes are the contract between feeds,
// the Avro schemas in schemas/avro/, the JSONL format of `snap-engine run --input`, and the engines.
//
// Timestamps are Unix nanoseconds as bigint: ns since 1970 exceed 2^53, and the log is the truth (DESIGN decision 2),
// so no precision may be lost between a feed and the engines. Prices are float64 in the instrument's own units.

export type Source = 'massive_ws' | 'massive_rest' | 'polygon_ws' | 'polygon_rest' | 'replay' | 'sim' | 'direct_feed' | 'databento';

/** BUY=+1 (lift), SELL=-1 (hit), MID/unknown=0. */
export type Aggressor = -1 | 0 | 1;

export interface Envelope {
  schema_version: number;
  source: Source;
  ts_event_ns: bigint;
  ts_recv_ns: bigint;
  /** Partition key: the underlying the record serves (e.g. SPY, also for ES data that serves SPY levels). */
  key: string;
  seq: bigint | null;
  /** §2.5: vendor id if any, else a hash of (source, ts, symbol, price, size, exchange, seq). */
  event_id: string;
}

export interface StockTrade extends Envelope {
  schema: 'stocks.trades.v1';
  symbol: string;
  price: number;
  size: number;
  exchange: number | null;
  conditions: number[];
}

export interface StockQuote extends Envelope {
  schema: 'stocks.quotes.v1';
  symbol: string;
  bid_px: number;
  ask_px: number;
  /** Shares (not round lots), per the 2025-11-03 SEC MDI change. */
  bid_sz: number;
  ask_sz: number;
  bid_exch: number | null;
  ask_exch: number | null;
}

export type OptionRight = 'C' | 'P';

export interface OptionTrade extends Envelope {
  schema: 'options.trades.v1';
  underlying: string;
  option_symbol: string;
  /** YYYY-MM-DD */
  exp_date: string;
  strike: number;
  right: OptionRight;
  price: number;
  size: number;
  opt_bid: number | null;
  opt_ask: number | null;
  aggressor: Aggressor;
}

export interface GreeksSnapshot extends Envelope {
  schema: 'options.greeks_snapshots.v1';
  underlying: string;
  option_symbol: string;
  exp_date: string;
  strike: number;
  right: OptionRight;
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
  implied_volatility: number | null;
  open_interest: number | null;
  last_quote_ts_ns: bigint | null;
  last_trade_ts_ns: bigint | null;
  /** Content hash shared by every contract row of one chain snapshot. */
  snapshot_id: string;
}

export interface OptionTradeEnriched extends Omit<OptionTrade, 'schema'> {
  schema: 'options.trades_enriched.v1';
  greeks_snapshot_id: string | null;
  delta: number | null;
  gamma: number | null;
  delta_notional: number | null;
  gamma_notional: number | null;
  join_tolerance_ns: bigint;
}

export interface FuturesTrade extends Envelope {
  schema: 'futures.trades.v1';
  symbol: string;
  price: number;
  size: number;
  aggressor: Aggressor;
  venue: string | null;
}

/** Depth 1..10, index 0 = best. Absent levels carry price NaN and size 0. */
export interface FuturesMbp10 extends Envelope {
  schema: 'futures.mbp10.v1';
  symbol: string;
  bid_px: number[];
  bid_sz: number[];
  ask_px: number[];
  ask_sz: number[];
  bid_ct: number[];
  ask_ct: number[];
  /** DBN flags (F_LAST 0x80, F_SNAPSHOT 0x20, F_MAYBE_BAD_BOOK 0x04, F_BAD_TS_RECV 0x08). */
  flags: number;
  is_snapshot: boolean;
}

/** Advances event time on an otherwise idle stream so the merge can release events (DESIGN decision 2). */
export interface Heartbeat extends Envelope {
  schema: 'heartbeat.v1';
}

export type InputEvent = StockTrade | StockQuote | OptionTrade | GreeksSnapshot | FuturesTrade | FuturesMbp10 | Heartbeat;
export type InputSchema = InputEvent['schema'];
/** An input stream that carries market data (every input schema but heartbeat.v1, which fans out into all of them). */
export type DataInputSchema = Exclude<InputSchema, 'heartbeat.v1'>;

// Keyed by the type so the compiler rejects a missing or unknown schema; key order is the declaration order of the
// input topics (and of heartbeat fan-out), which tools and tests rely on.
const DATA_INPUT_ORDER: { readonly [S in DataInputSchema]: null } = {
  'stocks.trades.v1': null,
  'stocks.quotes.v1': null,
  'options.trades.v1': null,
  'options.greeks_snapshots.v1': null,
  'futures.trades.v1': null,
  'futures.mbp10.v1': null,
};

/** THE list of market-data input schemas (one input topic each). */
export const DATA_INPUT_SCHEMAS: readonly DataInputSchema[] = Object.keys(DATA_INPUT_ORDER) as DataInputSchema[];
/** Every input schema: the data streams plus heartbeat.v1. */
export const INPUT_SCHEMAS: readonly InputSchema[] = [...DATA_INPUT_SCHEMAS, 'heartbeat.v1'];

/** Fixed rank used to break ties between streams at equal ts_event_ns (DESIGN decision 2). */
export const INPUT_SCHEMA_RANK: Record<InputSchema, number> = {
  'options.greeks_snapshots.v1': 0,
  'stocks.quotes.v1': 1,
  'futures.mbp10.v1': 2,
  'options.trades.v1': 3,
  'stocks.trades.v1': 4,
  'futures.trades.v1': 5,
  'heartbeat.v1': 6,
};

export const DBN_FLAGS = { F_LAST: 0x80, F_TOB: 0x40, F_SNAPSHOT: 0x20, F_MBP: 0x10, F_BAD_TS_RECV: 0x08, F_MAYBE_BAD_BOOK: 0x04 } as const;
