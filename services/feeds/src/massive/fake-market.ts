// Seeded synthetic Massive market data for the fake server: wire-format (§11.1) stock/option messages and a
// §11.2 option-chain snapshot. Deterministic for a seed: the same seed and start time give the same bytes.
import { mulberry32, normCdf, normPdf, type OptionRight } from '@snap/core';
import { formatOptionTicker, type MassiveCluster } from './normalize';
import { strikesAround, zeroDteExpiration } from './strike-manager';

export type WireMessage = { ev: string; sym: string } & Record<string, unknown>;
export interface FakeTick {
  cluster: MassiveCluster;
  events: WireMessage[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The fake vendor's quotes: Black–Scholes (r = q = 0) like core's blackScholes, but with a 1-minute floor on time and
 * a 1-cent floor on price, as a vendor never quotes a 0DTE option at zero. Theta per calendar day, vega per vol point.
 */
function blackScholes(spot: number, strike: number, years: number, vol: number, right: OptionRight) {
  const T = Math.max(years, 1 / (365 * 24 * 60));
  const sq = vol * Math.sqrt(T);
  const d1 = (Math.log(spot / strike) + 0.5 * vol * vol * T) / sq;
  const d2 = d1 - sq;
  const call = spot * normCdf(d1) - strike * normCdf(d2);
  const price = right === 'C' ? call : call - spot + strike;
  return {
    price: Math.max(price, 0.01),
    delta: right === 'C' ? normCdf(d1) : normCdf(d1) - 1,
    gamma: normPdf(d1) / (spot * sq),
    theta: -(spot * normPdf(d1) * vol) / (2 * Math.sqrt(T)) / 365,
    vega: (spot * normPdf(d1) * Math.sqrt(T)) / 100,
  };
}

export interface SeededMarketOptions {
  seed: number;
  underlying?: string;
  spot?: number;
  /** Unix ms of the first tick's event time. */
  startMs: number;
  stepMs?: number;
  strikeStep?: number;
  strikesEachSide?: number;
}

/**
 * An endless seeded session: each call yields one tick — a stock quote, usually a stock trade, and an option
 * quote (sometimes followed by a trade at the bid, ask or mid) on a 0DTE strike near spot.
 */
export function seededMarket(opts: SeededMarketOptions): () => FakeTick[] {
  const rnd = mulberry32(opts.seed).next;
  const u = opts.underlying ?? 'SPY';
  const step = opts.strikeStep ?? 1;
  const each = opts.strikesEachSide ?? 5;
  let spot = opts.spot ?? 676;
  let t = opts.startMs;
  let tradeId = 1;
  let q = 1;
  return () => {
    t += opts.stepMs ?? 100;
    spot = Math.max(1, spot + (rnd() - 0.5) * 0.1);
    const bid = round2(spot - 0.01);
    const ask = round2(bid + 0.01 + (rnd() < 0.2 ? 0.01 : 0));
    const stocks: WireMessage[] = [{ ev: 'Q', sym: u, bx: 1 + Math.floor(rnd() * 20), bp: bid, bs: 100 * (1 + Math.floor(rnd() * 20)), ax: 1 + Math.floor(rnd() * 20), ap: ask, as: 100 * (1 + Math.floor(rnd() * 20)), c: 1, i: [], t, q: q++, z: 1 }];
    if (rnd() < 0.7) {
      stocks.push({ ev: 'T', sym: u, x: 1 + Math.floor(rnd() * 20), i: String(tradeId++), z: 1, p: rnd() < 0.5 ? bid : ask, s: 1 + Math.floor(rnd() * 500), c: [], t, q: q++ });
    }
    const exp = zeroDteExpiration(BigInt(t) * 1_000_000n);
    const strikes = strikesAround(spot, each, step);
    const strike = strikes[Math.floor(rnd() * strikes.length)]!;
    const right: OptionRight = rnd() < 0.5 ? 'C' : 'P';
    const sym = formatOptionTicker(u, exp, right, strike);
    const bs = blackScholes(spot, strike, 3 / (365 * 24), 0.15, right);
    const obid = Math.max(0.01, round2(bs.price - 0.02));
    const oask = round2(obid + 0.02 + (rnd() < 0.3 ? 0.01 : 0));
    const options: WireMessage[] = [{ ev: 'Q', sym, bx: 300 + Math.floor(rnd() * 20), ax: 300 + Math.floor(rnd() * 20), bp: obid, ap: oask, bs: 1 + Math.floor(rnd() * 200), as: 1 + Math.floor(rnd() * 200), t, q: q++ }];
    if (rnd() < 0.4) {
      const r = rnd();
      const px = r < 0.4 ? oask : r < 0.8 ? obid : round2((obid + oask) / 2);
      options.push({ ev: 'T', sym, x: 300 + Math.floor(rnd() * 20), p: px, s: 1 + Math.floor(rnd() * 50), c: [209], t: t + 1, q: q++ });
    }
    return [
      { cluster: 'stocks', events: stocks },
      { cluster: 'options', events: options },
    ];
  };
}

export interface ChainOptions {
  seed: number;
  underlying?: string;
  spot?: number;
  /** Unix ms the snapshot describes (last_updated / sip_timestamp are just before it). */
  asOfMs: number;
  /** Expirations listed; default: the 0DTE date of asOfMs. */
  expirations?: string[];
  strikeStep?: number;
  strikesEachSide?: number;
  /** Fraction of contracts returned without greeks (the vendor omits them when it cannot solve IV). */
  missingGreeksRate?: number;
}

/** A §11.2 option-chain snapshot: results[] sorted by ticker, as the vendor does by default. */
export function generateOptionChain(opts: ChainOptions): Record<string, unknown>[] {
  const rnd = mulberry32(opts.seed ^ 0x5eed).next;
  const u = opts.underlying ?? 'SPY';
  const spot = opts.spot ?? 676;
  const asOfNs = BigInt(opts.asOfMs) * 1_000_000n;
  const exps = opts.expirations ?? [zeroDteExpiration(asOfNs)];
  const out: Record<string, unknown>[] = [];
  for (const [ei, exp] of exps.entries()) {
    for (const strike of strikesAround(spot, opts.strikesEachSide ?? 20, opts.strikeStep ?? 1)) {
      for (const right of ['C', 'P'] as OptionRight[]) {
        const ticker = formatOptionTicker(u, exp, right, strike);
        const vol = 0.12 + 0.002 * Math.abs(strike - spot) + 0.01 * rnd();
        const bs = blackScholes(spot, strike, (6.5 + 24 * ei) / (365 * 24), vol, right);
        const bid = Math.max(0.01, round2(bs.price - 0.02));
        const ask = round2(bid + 0.03);
        // ns timestamps exceed 2^53: kept as bigint here and written as exact JSON integers by stringifyJson.
        const quoteNs = asOfNs - BigInt(Math.floor(rnd() * 5_000_000_000));
        const tradeNs = asOfNs - BigInt(Math.floor(rnd() * 60_000_000_000));
        const r: Record<string, unknown> = {
          break_even_price: right === 'C' ? strike + bs.price : strike - bs.price,
          details: { contract_type: right === 'C' ? 'call' : 'put', exercise_style: 'american', expiration_date: exp, shares_per_contract: 100, strike_price: strike, ticker },
          day: { close: round2(bs.price), volume: Math.floor(rnd() * 50_000), last_updated: quoteNs },
          last_quote: { ask, ask_size: 1 + Math.floor(rnd() * 300), bid, bid_size: 1 + Math.floor(rnd() * 300), last_updated: quoteNs, midpoint: round2((bid + ask) / 2), timeframe: 'REAL-TIME' },
          last_trade: { conditions: [209], exchange: 300 + Math.floor(rnd() * 20), price: round2(bs.price), sip_timestamp: tradeNs, size: 1 + Math.floor(rnd() * 50), timeframe: 'REAL-TIME' },
          open_interest: Math.floor(rnd() * 100_000),
          underlying_asset: { change_to_break_even: round2(Math.abs(strike - spot)), last_updated: asOfNs, price: round2(spot), ticker: u, timeframe: 'REAL-TIME' },
        };
        if (rnd() >= (opts.missingGreeksRate ?? 0.1)) {
          r.greeks = { delta: bs.delta, gamma: bs.gamma, theta: bs.theta, vega: bs.vega };
          r.implied_volatility = vol;
        }
        out.push(r);
      }
    }
  }
  return out.sort((a, b) => ((a.details as { ticker: string }).ticker < (b.details as { ticker: string }).ticker ? -1 : 1));
}

/** JSON.stringify that writes bigint values as exact JSON integers (as the vendor's ns timestamps are on the wire). */
export function stringifyJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000big${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
}
