// Store outages (MinIO / S3 restarting, Redis going away) are waited out, not fatal: the sinks retry a failed write
// with exponential backoff, each attempt bounded in time, for as long as the process is healthy (not stopping). The
// outage is logged once when it starts and once when it ends (with its length and attempt count), not per attempt.
// Errors that no retry can fix (bad credentials, an object key outside the data root, a script error) still stop the
// sink at once: the caller's `transient` predicate decides.
import type { Logger } from '@snap/platform';

export interface BackoffOptions {
  /** First delay (ms). */
  initialMs: number;
  /** Delays double up to this (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5_000 };

/** Delay before retry number `attempt` (1 = the first retry): initial·2^(attempt−1), capped; no jitter (one writer per partition). */
export function backoffMs(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF): number {
  if (attempt < 1) return 0;
  return Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt - 1, 30));
}

export class RetryAbortedError extends Error {
  constructor(
    readonly what: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`${what}: retries stopped after ${attempts} attempt(s) because the sink is stopping`, options);
    this.name = 'RetryAbortedError';
  }
}

export interface RetryOptions {
  /** What is being retried, for logs: `PUT s3://bucket/key`. */
  what: string;
  /** The outage's name, for logs ("s3", "redis"): one warning per outage of this name. */
  target: string;
  logger: Logger;
  /** True for errors worth retrying (network, 5xx, timeouts); anything else is thrown at once. */
  transient: (e: unknown) => boolean;
  /** Stop retrying (and throw RetryAbortedError) once this returns true: the sink is shutting down. */
  stopping?: () => boolean;
  backoff?: BackoffOptions;
  /** Called while waiting between attempts (e.g. a Kafka consumer heartbeat, so a long outage keeps the group membership). */
  onWait?: () => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Outage bookkeeping per target, shared by every retry of that target so one outage warns once. */
export class OutageTracker {
  private since: number | null = null;
  private attempts = 0;
  outages = 0;
  /** Total seconds spent in outages (recovered ones). */
  downSeconds = 0;
  constructor(
    readonly target: string,
    readonly logger: Logger,
    readonly now: () => number = Date.now,
  ) {}
  get down(): boolean {
    return this.since !== null;
  }
  failed(what: string, e: unknown): void {
    this.attempts++;
    if (this.since !== null) return;
    this.since = this.now();
    this.outages++;
    this.logger.warn(`${this.target} unavailable; retrying with backoff until it is back`, { target: this.target, during: what, error: e as Error });
  }
  succeeded(what: string): void {
    if (this.since === null) return;
    const s = (this.now() - this.since) / 1000;
    this.downSeconds += s;
    this.logger.info(`${this.target} is back; resuming`, { target: this.target, outage_s: Number(s.toFixed(3)), failed_attempts: this.attempts, first_success: what });
    this.since = null;
    this.attempts = 0;
  }
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn` until it succeeds, a non-transient error is thrown, or `stopping()` turns true. */
export async function retryTransient<T>(fn: () => Promise<T>, o: RetryOptions, tracker: OutageTracker): Promise<T> {
  const sleep = o.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fn();
      tracker.succeeded(o.what);
      return r;
    } catch (e) {
      if (!o.transient(e)) throw e;
      tracker.failed(o.what, e);
      if (o.stopping?.()) throw new RetryAbortedError(o.what, attempt, { cause: e });
      o.logger.debug('retrying', { what: o.what, attempt, error: e as Error });
      // Wait in slices so a heartbeat goes out at least every second and a stop is noticed promptly.
      let left = backoffMs(attempt, o.backoff);
      while (left > 0) {
        const step = Math.min(left, 1000);
        await sleep(step);
        left -= step;
        if (o.onWait) await o.onWait().catch(() => undefined);
        if (o.stopping?.()) throw new RetryAbortedError(o.what, attempt, { cause: e });
      }
    }
  }
}

/** Node/undici/AWS SDK network-level error codes: the peer is down or restarting. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Does any error in the cause chain carry a network error code or a timeout / abort name? */
export function isNetworkError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 6; cur = (cur as { cause?: unknown }).cause, depth++) {
    const c = cur as { code?: string; name?: string; errno?: string; message?: string };
    if (c.code && NETWORK_CODES.has(c.code)) return true;
    if (c.errno && NETWORK_CODES.has(c.errno)) return true;
    if (c.name === 'TimeoutError' || c.name === 'AbortError' || c.name === 'RequestTimeout') return true;
    if (typeof c.message === 'string' && /socket hang up|connection is closed|Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable|Command timed out/.test(c.message)) return true;
  }
  return false;
}
