// Representative, valid values for every schema: used by the codec's unit and integration tests and by the client
// benchmark. `i` varies the values so a batch is not one record repeated; odd `i` fills nullable fields with nulls,
// even `i` with values, so both union branches are exercised.
import type { FuturesMbp10, FuturesTrade, GreeksSnapshot, Heartbeat, OptionTrade, SignalRow, StockQuote, StockTrade } from '@snap/core';
import { signalRowToRecord, type DeadLetterRecord, type EncodableValue, type LevelEventRecord, type OptionTradeEnrichedRecord, type SchemaName, type SignalRecord } from './envelope-codec';

// 2025-11-24T14:30:00.123456789Z: past 2^53, so any float64 on the way would visibly round it.
const T0 = 1_764_000_000_123_456_789n;

export function sampleValue<S extends SchemaName>(schemaName: S, i = 0): EncodableValue<S> {
  const even = i % 2 === 0;
  const ts = T0 + BigInt(i) * 1_000_003n;
  const env = { schema_version: 1, ts_event_ns: ts, ts_recv_ns: ts + 250_001n, key: 'SPY', seq: even ? BigInt(i) + 9_007_199_254_740_993n : null, event_id: `ev-${i}-${ts}` };
  const byName: { [K in SchemaName]: () => EncodableValue<K> } = {
    'stocks.trades.v1': (): StockTrade => ({ schema: 'stocks.trades.v1', ...env, source: 'massive_ws', symbol: 'SPY', price: 600.01 + i / 100, size: 100 + i, exchange: even ? 4 : null, conditions: even ? [12, 37] : [] }),
    'stocks.quotes.v1': (): StockQuote => ({ schema: 'stocks.quotes.v1', ...env, source: 'massive_ws', symbol: 'SPY', bid_px: 600 + i / 100, ask_px: 600.01 + i / 100, bid_sz: 1200 + i, ask_sz: 800, bid_exch: even ? 11 : null, ask_exch: even ? 12 : null }),
    'options.trades.v1': (): OptionTrade => ({ schema: 'options.trades.v1', ...env, source: 'massive_ws', underlying: 'SPY', option_symbol: 'O:SPY251124C00600000', exp_date: '2025-11-24', strike: 600, right: even ? 'C' : 'P', price: 1.23, size: 10 + i, opt_bid: even ? 1.2 : null, opt_ask: even ? 1.25 : null, aggressor: ((i % 3) - 1) as -1 | 0 | 1 }),
    'options.greeks_snapshots.v1': (): GreeksSnapshot => ({ schema: 'options.greeks_snapshots.v1', ...env, source: 'massive_rest', underlying: 'SPY', option_symbol: 'O:SPY251124P00599000', exp_date: '2025-11-24', strike: 599, right: 'P', delta: -0.42, gamma: 0.081, theta: -0.9, vega: 0.05, implied_volatility: even ? 0.17 : null, open_interest: even ? 12_345 : null, last_quote_ts_ns: even ? ts - 1n : null, last_trade_ts_ns: even ? -(2n ** 63n) : null, snapshot_id: `snap-${i}` }),
    'options.trades_enriched.v1': (): OptionTradeEnrichedRecord => ({ schema_name: 'options.trades_enriched.v1', ...env, source: 'massive_ws', underlying: 'SPY', option_symbol: 'O:SPY251124C00600000', exp_date: '2025-11-24', strike: 600, right: 'C', price: 1.23, size: 10, opt_bid: null, opt_ask: 1.25, aggressor: 1, greeks_snapshot_id: even ? `snap-${i}` : null, delta: even ? 0.5 : null, gamma: even ? 0.08 : null, delta_notional: even ? 30_000 : null, gamma_notional: even ? 4_800 : null, join_tolerance_ns: 15_000_000_000n }),
    'futures.trades.v1': (): FuturesTrade => ({ schema: 'futures.trades.v1', ...env, source: 'databento', symbol: 'ESZ5', price: 6001.25 + i * 0.25, size: 3, aggressor: even ? 1 : -1, venue: even ? 'XCME' : null }),
    'futures.mbp10.v1': (): FuturesMbp10 => ({
      schema: 'futures.mbp10.v1',
      ...env,
      source: 'databento',
      symbol: 'ESZ5',
      bid_px: Array.from({ length: 10 }, (_, k) => (k < 9 ? 6001 - k * 0.25 : NaN)),
      bid_sz: Array.from({ length: 10 }, (_, k) => (k < 9 ? 10 + k + i : 0)),
      ask_px: Array.from({ length: 10 }, (_, k) => 6001.25 + k * 0.25),
      ask_sz: Array.from({ length: 10 }, (_, k) => 12 + k),
      bid_ct: Array.from({ length: 10 }, (_, k) => (k < 9 ? 1 + k : 0)),
      ask_ct: Array.from({ length: 10 }, (_, k) => 2 + k),
      flags: even ? 0x80 : 0x80 | 0x20,
      is_snapshot: !even,
    }),
    'heartbeat.v1': (): Heartbeat => ({ schema: 'heartbeat.v1', ...env, source: 'sim' }),
    'levels.signals.v1': (): SignalRecord => signalRowToRecord(sampleSignalRow(i, ts), { source: 'replay', ts_recv_ns: env.ts_recv_ns, seq: env.seq, event_id: env.event_id }),
    'levels.events.v1': (): LevelEventRecord => ({
      schema_name: 'levels.events.v1',
      ...env,
      source: 'replay',
      underlying: 'SPY',
      level_id: even ? 'CALL_WALL' : 'VWAP',
      level_kind: even ? 'CALL_WALL' : 'VWAP',
      level_price: 605 + i,
      direction: even ? 'RESISTANCE' : 'SUPPORT',
      signal: even ? 'BREAK' : 'REJECT',
      break_score: even ? 81.5 : 12.25,
      confidence: even ? 'HIGH' : 'MEDIUM',
      lead: (['BARRIER', 'TAPE', 'FUEL'] as const)[i % 3]!,
      reason: even ? 'wall consumed, buy sweep, dealers short gamma' : 'absorption at support',
      spot: 604.97 + i,
    }),
    'deadletter.v1': (): DeadLetterRecord => ({
      schema_name: 'deadletter.v1',
      ...env,
      source: 'processor',
      reason: 'not a Confluent Avro frame: byte 0 is 0x7b, expected magic byte 0x00',
      error_class: 'CodecError',
      error_path: even ? 'bid_px.3' : null,
      source_topic: even ? 'stocks.quotes.v1' : null,
      source_partition: even ? 3 : null,
      source_offset: even ? 2n ** 40n + BigInt(i) : null,
      raw: Buffer.from([0x7b, 0x22, 0x00, 0xff, i & 0xff]),
      ts_deadletter_ns: ts + 1_000_000n,
    }),
  };
  return byName[schemaName]() as EncodableValue<S>;
}

/** A Gold `levels.signals.v1` row (sinks, lake and Redis tests): nulls in every nullable column on odd rows. */
export function sampleSignalRow(i: number, tsNs: bigint, overrides: Partial<SignalRow> = {}): SignalRow {
  const even = i % 2 === 0;
  return {
    ts_event_ns: tsNs,
    underlying: 'SPY',
    spot: 600.12 + i / 100,
    bid: 600.11 + i / 100,
    ask: 600.13 + i / 100,
    level_id: `STRIKE_600_${i}`,
    level_kind: 'STRIKE',
    level_price: 600,
    direction: even ? 'SUPPORT' : 'RESISTANCE',
    distance: 0.12 + i / 1000,
    barrier_state: even ? 'VACUUM' : 'WALL',
    barrier_delta_liq: -8_100.5 + i,
    barrier_replenishment_ratio: 0.31,
    barrier_added: 3_100,
    barrier_canceled: 9_500,
    barrier_filled: 1_700 + i,
    barrier_delta_liq_raw: -9_000,
    barrier_replenishment_ratio_raw: 0.25,
    barrier_defending_price: 545.0,
    barrier_defending_size: 1_200,
    tape_velocity_raw: -0.021,
    tape_sweep_venues: 3,
    tape_sweep_window_ms: 12.5,
    fuel_net_dealer_gamma_raw: -190_000,
    tape_imbalance: -0.45,
    tape_buy_vol: 120_000,
    tape_sell_vol: 320_000 + i,
    tape_velocity: -0.08,
    tape_sweep_detected: even,
    tape_sweep_direction: even ? 'DOWN' : null,
    tape_sweep_notional: even ? 1_250_000 : 0,
    fuel_effect: 'AMPLIFY',
    fuel_net_dealer_gamma: -185_000 + i * 0.1,
    fuel_call_wall: even ? 605 : null,
    fuel_put_wall: even ? 590 : null,
    fuel_hvl: even ? 598.5 : null,
    break_score_raw: (i * 7) % 100,
    break_score_smooth: (i * 5) % 100 + 0.25,
    signal: even ? 'BREAK' : 'NEUTRAL',
    confidence: 'HIGH',
    runway_direction: 'DOWN',
    runway_next_level_id: even ? 'PUT_WALL' : null,
    runway_next_level_price: even ? 590 : null,
    runway_distance: even ? 10.12 : null,
    runway_quality: 'CLEAR',
    note: `Vacuum + sell imbalance ✓ #${i}`,
    ...overrides,
  };
}
