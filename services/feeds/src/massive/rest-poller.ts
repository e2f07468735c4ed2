// REST option-chain snapshot poller (plan §11.2): GET /v3/snapshot/options/{underlying} for the 0DTE expiry and
// strikes near spot, next_url followed verbatim to the end, a token bucket in front of every request
// (massive.rest_requests_per_second), retries with backoff on 429/5xx/network errors, and one
// options.greeks_snapshots.v1 event per contract that has greeks, all sharing one content-hash snapshot_id.
import { z } from 'zod';
import { fnv1a64, makeEventId, type GreeksSnapshot } from '@snap/core';
import { createLogger, systemClock, type Clock, type Logger } from '@snap/platform';
import { redactSecret } from './api-key';
import { parseOptionTicker, OptionTickerError } from './normalize';
import { backoffDelayMs, MassiveAuthError, type BackoffOptions } from './ws-client';

/**
 * HTTP 403 on a snapshot endpoint: the key is valid but the plan does not include this data (e.g. no option chain
 * snapshot). Not fatal to the feed: streaming goes on and the greeks are reported missing.
 */
export class MassiveRestForbiddenError extends MassiveAuthError {
  constructor(url: string, detail: string) {
    super('rest', url, detail);
    this.name = 'MassiveRestForbiddenError';
    this.message = `Massive REST ${url}: HTTP 403, the plan does not include this endpoint (${detail})`;
  }
}

export class MassiveRestError extends Error {
  constructor(
    message: string,
    /** URL with the apiKey redacted. */
    readonly url: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'MassiveRestError';
  }
}

/** Token bucket on an injected clock: `take()` resolves when a request may go. Calls are served in order. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly clock: Clock,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`token bucket rate must be > 0 (massive.rest_requests_per_second = ${ratePerSecond})`);
    if (!(capacity >= 1)) throw new RangeError(`token bucket capacity must be ≥ 1 (got ${capacity})`);
    this.tokens = capacity;
    this.last = clock.nowMs();
  }

  take(): Promise<void> {
    const next = this.queue.then(() => this.takeOne());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private refill(): void {
    const now = this.clock.nowMs();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
  }

  private async takeOne(): Promise<void> {
    this.refill();
    while (this.tokens < 1) {
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
      this.refill();
    }
    this.tokens -= 1;
  }
}

// Vendor ns timestamps exceed 2^53; JSON.parse would round them, so they are quoted before parsing.
const NS_FIELDS = /"(last_updated|sip_timestamp|fmv_last_updated|participant_timestamp|trf_timestamp)"\s*:\s*(-?\d+)/g;
export function parseJsonLosslessNs(text: string): unknown {
  return JSON.parse(text.replace(NS_FIELDS, '"$1":"$2"'));
}

const nsField = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform((v) => BigInt(v));
const finite = z.number().finite();
// greeks and implied_volatility are null (or absent) when the vendor could not solve IV: the contract is then
// counted as without greeks, never dead-lettered (it would be on every poll).
const ChainResult = z.looseObject({
  details: z.looseObject({ ticker: z.string().min(1) }),
  greeks: z.looseObject({ delta: z.unknown(), gamma: z.unknown(), theta: z.unknown(), vega: z.unknown() }).partial().nullish(),
  implied_volatility: finite.nullish(),
  open_interest: finite.nullish(),
  day: z.looseObject({ last_updated: nsField.nullish() }).nullish(),
  last_quote: z.looseObject({ last_updated: nsField.nullish() }).nullish(),
  // The chain snapshot names the trade time sip_timestamp; the universal snapshot names it last_updated.
  last_trade: z.looseObject({ sip_timestamp: nsField.nullish(), last_updated: nsField.nullish() }).nullish(),
  underlying_asset: z.looseObject({ last_updated: nsField.nullish() }).nullish(),
});
const Greeks = z.object({ delta: finite, gamma: finite, theta: finite, vega: finite });
const ChainPage = z.looseObject({ status: z.string(), request_id: z.string().optional(), results: z.array(z.unknown()).nullish(), next_url: z.string().nullish() });
/** One row of GET /v3/snapshot (universal): an option row carries `ticker` at the top; a miss is {error, message, ticker}. */
const UniversalRow = z.looseObject({ ticker: z.string().min(1), type: z.string().optional(), error: z.string().optional(), message: z.string().optional(), details: z.looseObject({}).nullish() });

export interface ChainPollParams {
  underlying: string;
  /** YYYY-MM-DD (the 0DTE date). */
  expirationDate: string;
  /** With spot and strikeRange, only strikes in [spot − range, spot + range] are requested. */
  spot?: number | null;
  strikeRange?: number;
}

export interface ChainSnapshot {
  underlying: string;
  /** The vendor's time of the snapshot: the newest last_updated / sip_timestamp among its contracts (local poll time only when the vendor gave none). */
  ts_event_ns: bigint;
  /** Local clock when the poll started (the record's ts_recv_ns). */
  ts_recv_ns: bigint;
  /**
   * Where ts_event_ns came from: the vendor's newest time; or the floor, when the vendor's time was older than the
   * newest event time the stream may already have (see MassiveFeed: the snapshot is then claimed valid from later,
   * never from earlier, than the vendor says); or the local clock when the vendor gave no time at all.
   */
  time_source: 'vendor' | 'floor' | 'local';
  /** The vendor's newest time among the contracts (null when it gave none). */
  vendor_ns: bigint | null;
  snapshot_id: string;
  events: GreeksSnapshot[];
  pages: number;
  /** Contracts returned by the vendor (with or without greeks). */
  contracts: number;
  /** Contracts the vendor returned without (complete) greeks: counted and skipped. */
  withoutGreeks: number;
  /** Contracts that failed validation (bad ticker, wrong types): to be dead-lettered. */
  invalid: { reason: string; raw: Buffer }[];
  /** Universal snapshot only: tickers the vendor answered with an error row (e.g. NOT_FOUND for an unlisted strike). */
  notFound: string[];
}

export interface MassiveRestPollerOptions {
  baseUrl: string;
  apiKey: string;
  requestsPerSecond: number;
  burst?: number;
  clock?: Clock;
  logger?: Logger;
  /** Page size; the vendor's maximum is 250. */
  limit?: number;
  maxRetries?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  requestTimeoutMs?: number;
  /** Safety stop for a vendor that keeps returning next_url. */
  maxPages?: number;
}

export class MassiveRestPoller {
  private readonly bucket: TokenBucket;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly origin: string;
  readonly stats = { requests: 0, retries: 0, polls: 0 };

  constructor(private readonly opts: MassiveRestPollerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.bucket = new TokenBucket(opts.requestsPerSecond, opts.burst ?? 1, this.clock);
    this.log = (opts.logger ?? createLogger({ name: 'massive-rest' })).child({ base_url: opts.baseUrl });
    this.origin = new URL(opts.baseUrl).origin;
  }

  firstPageUrl(p: ChainPollParams): string {
    const u = new URL(`/v3/snapshot/options/${encodeURIComponent(p.underlying)}`, this.opts.baseUrl);
    u.searchParams.set('expiration_date', p.expirationDate);
    if (p.spot != null && Number.isFinite(p.spot) && p.strikeRange !== undefined) {
      u.searchParams.set('strike_price.gte', String(Math.round((p.spot - p.strikeRange) * 1000) / 1000));
      u.searchParams.set('strike_price.lte', String(Math.round((p.spot + p.strikeRange) * 1000) / 1000));
    }
    u.searchParams.set('limit', String(this.opts.limit ?? 250));
    return u.toString();
  }

  /** next_url is followed verbatim; only the apiKey is added when the vendor left it out (it does). */
  private authorize(url: string): string {
    const u = new URL(url);
    // Never send the key to a host other than the configured one, whatever next_url says.
    if (u.origin !== this.origin) throw new MassiveRestError(`refusing to follow ${redactSecret(url, this.opts.apiKey)}: origin differs from massive.rest_url ${this.origin}`, redactSecret(url, this.opts.apiKey), null);
    if (u.searchParams.has('apiKey')) return url;
    return `${url}${url.includes('?') ? '&' : '?'}apiKey=${encodeURIComponent(this.opts.apiKey)}`;
  }

  private redact(text: string): string {
    return redactSecret(text, this.opts.apiKey);
  }

  private async getJson(url: string): Promise<unknown> {
    const maxRetries = this.opts.maxRetries ?? 5;
    const shown = this.redact(url);
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take();
      this.stats.requests++;
      let status: number | null = null;
      let why: string;
      let retryAfterMs: number | null = null;
      try {
        const res = await fetch(this.authorize(url), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000) });
        status = res.status;
        const text = await res.text();
        if (res.ok) {
          try {
            return parseJsonLosslessNs(text);
          } catch (e) {
            throw new MassiveRestError(`Massive REST ${shown} returned invalid JSON: ${(e as Error).message}`, shown, status);
          }
        }
        const detail = this.redact(text.slice(0, 300));
        if (status === 403) throw new MassiveRestForbiddenError(shown, detail);
        if (status === 401) throw new MassiveAuthError('rest', shown, `HTTP ${status} ${detail}`);
        if (status !== 429 && status < 500) throw new MassiveRestError(`Massive REST ${shown} failed: HTTP ${status} ${detail}`, shown, status);
        why = `HTTP ${status}`;
        const ra = res.headers.get('retry-after');
        if (ra !== null && /^\d+(\.\d+)?$/.test(ra.trim())) retryAfterMs = Number(ra) * 1000;
      } catch (e) {
        if (e instanceof MassiveAuthError || e instanceof MassiveRestError) throw e;
        why = this.redact((e as Error).message);
      }
      if (attempt >= maxRetries) throw new MassiveRestError(`Massive REST ${shown} failed after ${attempt + 1} attempts; last: ${why}`, shown, status);
      const backoff = backoffDelayMs(attempt, { initialMs: 500, maxMs: 30_000, ...this.opts.backoff }, this.opts.random ?? Math.random);
      const delay = retryAfterMs !== null ? Math.min(retryAfterMs, this.opts.backoff?.maxMs ?? 30_000) : backoff;
      this.stats.retries++;
      this.log.warn('massive rest retry', { url: shown, attempt: attempt + 1, reason: why, delay_ms: delay });
      await this.clock.sleep(delay);
    }
  }

  private async allPages(first: string): Promise<{ rows: unknown[]; pages: number }> {
    let url: string | null = first;
    let pages = 0;
    const rows: unknown[] = [];
    while (url) {
      if (pages >= (this.opts.maxPages ?? 1000)) throw new MassiveRestError(`Massive REST pagination did not end after ${pages} pages`, this.redact(url), null);
      const page = ChainPage.safeParse(await this.getJson(url));
      if (!page.success) throw new MassiveRestError(`Massive REST ${this.redact(url)}: unexpected response shape at "${page.error.issues[0]!.path.join('.')}": ${page.error.issues[0]!.message}`, this.redact(url), 200);
      pages++;
      rows.push(...(page.data.results ?? []));
      url = page.data.next_url ? page.data.next_url : null;
    }
    return { rows, pages };
  }

  /**
   * One full chain snapshot: every page, then the events. `floorNs(pollEndNs)` gives the earliest event time the
   * snapshot may carry. Throws MassiveAuthError / MassiveRestForbiddenError / MassiveRestError.
   */
  async pollOnce(p: ChainPollParams, opts: { floorNs?: (pollEndNs: bigint) => bigint | null } = {}): Promise<ChainSnapshot> {
    const ts_recv_ns = this.clock.nowNs();
    const { rows, pages } = await this.allPages(this.firstPageUrl(p));
    this.stats.polls++;
    return buildGreeksSnapshot(p.underlying, ts_recv_ns, rows, pages, opts.floorNs?.(this.clock.nowNs()) ?? null);
  }

  /**
   * The universal snapshot (GET /v3/snapshot?ticker.any_of=…) for exactly the contracts given — the alternative when the
   * chain endpoint is not wanted or not entitled. At most 250 tickers per request, so larger sets take several.
   */
  async pollUniversal(underlying: string, tickers: readonly string[], opts: { floorNs?: (pollEndNs: bigint) => bigint | null } = {}): Promise<ChainSnapshot> {
    const ts_recv_ns = this.clock.nowNs();
    const rows: unknown[] = [];
    const notFound: string[] = [];
    let pages = 0;
    const sorted = [...new Set(tickers)].sort();
    for (let i = 0; i < sorted.length; i += 250) {
      const u = new URL('/v3/snapshot', this.opts.baseUrl);
      u.searchParams.set('ticker.any_of', sorted.slice(i, i + 250).join(','));
      u.searchParams.set('limit', '250');
      const got = await this.allPages(u.toString());
      pages += got.pages;
      const mapped = universalToChainRows(got.rows);
      rows.push(...mapped.rows);
      notFound.push(...mapped.notFound);
    }
    this.stats.polls++;
    return { ...buildGreeksSnapshot(underlying, ts_recv_ns, rows, pages, opts.floorNs?.(this.clock.nowNs()) ?? null), notFound };
  }
}

/**
 * Pure: universal snapshot rows → chain-shaped rows (the ticker moves into details, where buildGreeksSnapshot reads
 * it) and the tickers the vendor answered with an error row. A row of another asset type stays as is and is then
 * reported invalid by buildGreeksSnapshot (only option tickers are asked for).
 */
export function universalToChainRows(results: unknown[]): { rows: unknown[]; notFound: string[] } {
  const rows: unknown[] = [];
  const notFound: string[] = [];
  for (const r of results) {
    const row = UniversalRow.safeParse(r);
    if (row.success && row.data.error) notFound.push(row.data.ticker);
    else if (row.success && (row.data.type === undefined || row.data.type === 'options')) rows.push({ ...row.data, details: { ...(row.data.details ?? {}), ticker: row.data.ticker } });
    else rows.push(r);
  }
  return { rows, notFound };
}

const maxNs = (xs: (bigint | null | undefined)[]): bigint | null => xs.reduce<bigint | null>((m, x) => (x != null && (m === null || x > m) ? x : m), null);

/** Pure: vendor results → events sharing a content-hash snapshot_id. Exported so replays and tests can rebuild it. */
export function buildGreeksSnapshot(underlying: string, ts_recv_ns: bigint, rows: unknown[], pages: number, floorNs: bigint | null = null): ChainSnapshot {
  const invalid: ChainSnapshot['invalid'] = [];
  let withoutGreeks = 0;
  const good: { contract: ReturnType<typeof parseOptionTicker>; g: z.infer<typeof Greeks>; iv: number | null; oi: number | null; lq: bigint | null; lt: bigint | null; vendorNs: bigint | null }[] = [];
  rows.forEach((row, i) => {
    const raw = () => Buffer.from(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'undefined', 'utf8');
    const r = ChainResult.safeParse(row);
    if (!r.success) {
      invalid.push({ reason: `snapshot result #${i}: field "${r.error.issues[0]!.path.join('.')}" ${r.error.issues[0]!.message}`, raw: raw() });
      return;
    }
    let contract;
    try {
      contract = parseOptionTicker(r.data.details.ticker);
    } catch (e) {
      if (!(e instanceof OptionTickerError)) throw e;
      invalid.push({ reason: `snapshot result #${i}: ${e.message}`, raw: raw() });
      return;
    }
    if (contract.underlying !== underlying) {
      invalid.push({ reason: `snapshot result #${i}: contract ${contract.option_symbol} is not on underlying ${underlying}`, raw: raw() });
      return;
    }
    const g = Greeks.safeParse(r.data.greeks ?? {});
    if (!g.success) {
      withoutGreeks++;
      return;
    }
    const lq = r.data.last_quote?.last_updated ?? null;
    const lt = r.data.last_trade?.sip_timestamp ?? r.data.last_trade?.last_updated ?? null;
    const vendorNs = maxNs([lq, lt, r.data.underlying_asset?.last_updated, r.data.day?.last_updated]);
    good.push({ contract, g: g.data, iv: r.data.implied_volatility ?? null, oi: r.data.open_interest ?? null, lq, lt, vendorNs });
  });
  // The greeks are the vendor's as of its newest input (quote, trade, underlying price), so that is the snapshot's
  // event time: trades (vendor times too) join it without clock skew, and on a delayed plan both are equally late.
  const vendorNs = maxNs(good.map((x) => x.vendorNs));
  const base = vendorNs ?? ts_recv_ns;
  const ts_event_ns = floorNs !== null && floorNs > base ? floorNs : base;
  const time_source: ChainSnapshot['time_source'] = ts_event_ns !== base ? 'floor' : vendorNs === null ? 'local' : 'vendor';
  good.sort((a, b) => (a.contract.option_symbol < b.contract.option_symbol ? -1 : a.contract.option_symbol > b.contract.option_symbol ? 1 : 0));
  // Canonical content: sorted contracts and exactly the fields the events carry; poll time is not content,
  // so an unchanged chain hashes to the same id on every poll.
  const canonical = JSON.stringify([underlying, good.map((x) => [x.contract.option_symbol, x.g.delta, x.g.gamma, x.g.theta, x.g.vega, x.iv, x.oi, x.lq?.toString() ?? null, x.lt?.toString() ?? null])]);
  const snapshot_id = fnv1a64(canonical);
  const events: GreeksSnapshot[] = good.map((x, i) => ({
    schema: 'options.greeks_snapshots.v1',
    schema_version: 1,
    source: 'massive_rest',
    ts_event_ns,
    ts_recv_ns,
    key: underlying,
    seq: BigInt(i),
    event_id: makeEventId({ source: 'massive_rest', ts_event_ns, symbol: x.contract.option_symbol, exchange: snapshot_id }),
    underlying,
    option_symbol: x.contract.option_symbol,
    exp_date: x.contract.exp_date,
    strike: x.contract.strike,
    right: x.contract.right,
    delta: x.g.delta,
    gamma: x.g.gamma,
    theta: x.g.theta,
    vega: x.g.vega,
    implied_volatility: x.iv,
    open_interest: x.oi,
    last_quote_ts_ns: x.lq,
    last_trade_ts_ns: x.lt,
    snapshot_id,
  }));
  return { underlying, ts_event_ns, ts_recv_ns, time_source, vendor_ns: vendorNs, snapshot_id, events, pages, contracts: rows.length, withoutGreeks, invalid, notFound: [] };
}
