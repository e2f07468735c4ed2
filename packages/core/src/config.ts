// The single source of truth for configuration (plan §9 plus every connection setting).
// Pure: parsing only. Reading files and process.env happens in @snap/platform's loadConfig.
import { z } from 'zod';
import { DATA_INPUT_SCHEMAS } from './events';
import { DEFAULT_CALIBRATION } from './score';

const ms = z.number().int().positive();
/**
 * Half-lives of the smoothers and noise baselines, and the spans (holds, dwells, episodes, baseline intervals) an
 * engine measures held times against, are bounded so that state held over any gap of event time behaves exactly
 * (event-clock.ts heldOffsetOf): past 2^53 ns a weight of a day's half-life is exactly 1 and a week's span has passed.
 */
const halfLifeMs = ms.max(86_400_000);
const MAX_SPAN_MS = 7 * 86_400_000;
const spanMs = ms.max(MAX_SPAN_MS);
const pos = z.number().positive();
const nonneg = z.number().nonnegative();

export const ConfigSchema = z.object({
  underlyings: z.array(z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/)).min(1).default(['SPY']),
  snap: z
    .object({
      /** Snap tick cadence on event time (plan §1: 100–250 ms). */
      tick_ms: z.number().int().min(100).max(250).default(250),
    })
    .prefault({}),
  barrier: z
    .object({
      source: z.enum(['l1', 'mbp10']).default('l1'),
      window_ms: ms.default(5000), // W_b
      r_vac: pos.default(0.5),
      r_wall: pos.default(1.5),
      /** F_thresh in shares: about two ordinary displayed SPY queues (~1–2k shares each), so one queue refilling or
       *  trading away is noise, and losing or stacking more than that within W_b is a real change of the defense. */
      f_thresh: nonneg.default(3000),
      /** Defending side counts as "at the level" when its quote is within this band of L. One SPY tick: queues 2–5¢ in
       *  front of L are the approach path (always traded through on the way in), not the defense of L. */
      quote_band: nonneg.default(0.01),
      weak_baseline_ms: spanMs.default(45 * 60_000),
      weak_percentile: z.number().min(0).max(100).default(20),
      /** MBP-10 zone half-width in instrument ticks, and the instrument tick size. One ES tick (0.25 = 2.5 SPY cents)
       *  each side absorbs the basis rounding; two reached 5¢ into the approach path. */
      zone_ticks: z.number().int().nonnegative().default(1),
      tick_size: pos.default(0.25),
      eps_fill: nonneg.default(0),
      eps_pull: nonneg.default(0),
      /** churn / (|net| + 1) above which MBP-10 confidence is lowered. */
      churn_ratio_low_confidence: pos.default(8),
      /** L1: a print at/through the quote within this many ms of a size drop counts as a fill, not a cancel. */
      fill_match_ms: ms.default(500),
      /** MBP-10 counterpart of f_thresh, in futures contracts (F_thresh is in shares): about one to two ordinary
       *  displayed ES price levels (a few hundred lots). The zone spans 3 ES prices (7.5 SPY cents), so 5 s of ordinary
       *  two-way flow through it runs to 100–250 lots: at 50 (and still at 150) quiet books read as ABSORPTION. */
      f_thresh_futures: nonneg.default(300),
      /** Adaptive thresholds (barrier.ts): a window's Δliq (and MBP-10 filled) must lie z_thresh standard deviations beyond
       *  the defending side's own recent noise before a WALL/ABSORPTION/VACUUM/CONSUMED is called; F stays the floor. */
      z_thresh: nonneg.default(2.5),
      /** Half-life of that noise baseline (an exponentially weighted mean/variance sampled at every snap tick). */
      baseline_half_life_ms: halfLifeMs.default(600_000),
    })
    .prefault({}),
  basis: z
    .object({
      /** ES ≈ multiplier·SPY + basis (DESIGN decision 4). */
      multiplier: pos.default(10),
      half_life_ms: ms.default(60_000),
      futures_symbol: z.string().default('ES'),
    })
    .prefault({}),
  /** Per-underlying barrier source and futures book (issue 11): an underlying read through MBP-10 needs its own future
   *  (ES for SPY, NQ for QQQ, RTY for IWM) and multiplier, never another underlying's. */
  futures: z
    .object({
      /** barrier.source per underlying; an underlying not listed uses barrier.source. */
      barrier_sources: z.record(z.string(), z.enum(['l1', 'mbp10'])).default({}),
      /** Futures contract per underlying: symbol root (matched as a prefix of the instrument, ESZ6 → ES), multiplier
       *  k (futures ≈ k·underlying + basis) and the basis EWMA half-life. Used by every underlying whose barrier is mbp10. */
      contracts: z
        .record(z.string(), z.object({ symbol: z.string().min(1), multiplier: pos, basis_half_life_ms: ms.default(60_000) }))
        .default({
          SPY: { symbol: 'ES', multiplier: 10, basis_half_life_ms: 60_000 },
          QQQ: { symbol: 'NQ', multiplier: 41, basis_half_life_ms: 60_000 },
          IWM: { symbol: 'RTY', multiplier: 10, basis_half_life_ms: 60_000 },
        }),
    })
    .prefault({}),
  tape: z
    .object({
      window_ms: ms.default(5000), // W_t
      band: nonneg.default(0.1), // B_t
      velocity_window_ms: ms.default(3000), // W_v
      /** ISO child orders of one sweep execute within a few ms across venues; 25 ms allows for SIP timestamp skew without
       *  chaining independent orders of a busy tape into one "sweep" (the plan's 50–100 ms does, at SPY's print rate). */
      sweep_max_gap_ms: ms.default(25),
      /** A cluster longer than this is a stream of separate orders, not one sweep: it is cut here. */
      sweep_max_span_ms: ms.default(250),
      /** $2M ≈ 3,000 SPY shares: more than the whole displayed touch of a normal SPY book, so a sweep has to clear it
       *  (500k ≈ 735 shares is an ordinary print size and fires on noise in both directions). */
      sweep_min_notional: pos.default(2_000_000),
      sweep_venue_min: z.number().int().positive().default(3),
    })
    .prefault({}),
  fuel: z
    .object({
      window_ms: ms.default(120_000), // W_g
      strike_range: nonneg.default(1.5), // ΔK
      wall_window_ms: ms.default(300_000), // W_wall
      contract_multiplier: pos.default(100),
      neutral_gamma: nonneg.default(1000),
      /** A greeks snapshot older than this at a trade is not used (the trade is skipped, as without greeks); 0 = any age within the 1 h option memory. */
      greeks_max_age_ms: z.number().int().nonnegative().default(0),
    })
    .prefault({}),
  levels: z
    .object({
      monitor_band: pos.default(0.5), // MONITOR_BAND
      touch_band: pos.default(0.05), // TOUCH_BAND
      round_step: pos.default(1),
      half_round_near_spot: z.boolean().default(true),
      strike_count: z.number().int().nonnegative().default(5),
      strike_step: pos.default(1),
      refresh_ms: ms.default(2000),
      vwap_anchor: z.enum(['session', 'rth_open']).default('session'),
      hotzones: z.array(z.number().positive()).default([]),
    })
    .prefault({}),
  score: z
    .object({
      w_l: nonneg.default(0.45),
      w_h: nonneg.default(0.35),
      w_t: nonneg.default(0.2),
      break_threshold: z.number().min(0).max(100).default(80),
      reject_threshold: z.number().min(0).max(100).default(20),
      /** T_hold on the composite S (score.ts). SPY's defended queues (10–25k shares) go in 3–6 s once pulled or swept;
       *  3 s of hold leaves no lead. Calibrated on simulator seeds 1–10 (docs/eval.md): 500 ms (two snap ticks) gave
       *  BREAK precision 0.46 / recall 0.13 against 0.40 / 0.10 at 1 s, 0.42 / 0.13 at 250 ms and 0.54 / 0.06 at 2 s. */
      hold_ms: spanMs.default(500), // T_hold
      /** |velocity| ($/s) toward the break direction that earns the full velocity half of S_T's 0–50 scale. */
      velocity_ref: pos.default(0.05),
      /** ABSORPTION scores as a hold (S_L 0) only while the tape's imbalance toward the break is at least this: the
       *  aggression a defence absorbs. Below it the refilled quote scores NEUTRAL (score.ts liquidityScore). */
      absorption_min_imbalance: z.number().min(-1).max(1).default(0.2),
      /** Calibration map of the published break_score_smooth (score.ts calibrateScore): [S̃, 100·P(break)] knots,
       *  interpolated linearly, flat beyond the ends; [] publishes S̃ itself. Triggers read S̃, never the map. */
      calibration: z
        .array(z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]))
        .default(() => DEFAULT_CALIBRATION.map(([x, y]) => [x, y] as [number, number]))
        .refine((k) => k.every((p, i) => i === 0 || (p[0] > k[i - 1]![0] && p[1] >= k[i - 1]![1])), {
          message: 'knots must rise strictly in S̃ and never fall in P (a monotone map)',
        }),
    })
    .prefault({}),
  /** Discrete signals (score.ts): hysteresis, minimum dwell and the episode that fires at most one BREAK/REJECT event. */
  signal: z
    .object({
      /** A level's shown signal changes at most once per this much event time (a BREAK lasts at least this long). */
      min_dwell_ms: z.number().int().nonnegative().max(MAX_SPAN_MS).default(2000),
      /** Hysteresis: a shown BREAK holds while S̃ ≥ this (it entered on S > score.break_threshold for score.hold_ms). */
      break_exit_threshold: z.number().min(0).max(100).default(65),
      /** Hysteresis: a shown REJECT holds while S̃ ≤ this (it entered on S̃ < score.reject_threshold at a touch). */
      reject_exit_threshold: z.number().min(0).max(100).default(35),
      /** An episode (level inside levels.monitor_band) ends when it leaves the band or after this long; it emits at most
       *  one BREAK or REJECT event. Same default as eval.horizon_ms, so an engine episode is an evaluated episode. */
      episode_ms: spanMs.default(120_000),
      /** BREAK confirmed by price: spot through the level (past it on the far side from the episode's approach) by at
       *  least this much ($), the smoothed velocity not pushing back. 0 = off. Tuned on simulator seeds 1–10 (docs/eval.md). */
      break_confirm_distance: nonneg.default(0.2),
      /** BREAK confirmed sooner when price is through by this much ($) with the smoothed velocity toward the break at
       *  least score.velocity_ref (a fast break: on busy tape price jumps the last cents to the outcome within one snap
       *  tick). 0 = off. Tuned on simulator seeds 1–10, 1 h (docs/eval.md "Fourth pass"). */
      break_confirm_fast_distance: nonneg.default(0.12),
      /** REJECT confirmed by price: after a touch this episode, spot stands off the level on its approach side by at
       *  least this much ($), the smoothed velocity not pushing back toward it. 0 = off. Tuned on seeds 1–10. */
      reject_confirm_distance: nonneg.default(0.15),
    })
    .prefault({}),
  smoothing: z
    .object({
      score_half_life_ms: halfLifeMs.default(1000),
      delta_liq_half_life_ms: halfLifeMs.default(2000),
      replenishment_half_life_ms: halfLifeMs.default(2000),
      velocity_half_life_ms: halfLifeMs.default(1000),
      gamma_half_life_ms: halfLifeMs.default(5000),
      robust: z.boolean().default(false),
      robust_window: z.number().int().min(3).default(5),
    })
    .prefault({}),
  kafka: z
    .object({
      brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
      client_id: z.string().default('snap-engine'),
      topic_prefix: z.string().regex(/^[A-Za-z0-9._-]*$/).default(''),
      group_id: z.string().default('snap-processor'),
      transactional_id_prefix: z.string().default('snap-processor'),
      /** Partition count shared by every input topic and the signals/changelog topics (co-partitioned by underlying). */
      partitions: z.number().int().positive().default(6),
      replication_factor: z.number().int().positive().default(1),
      /** Retention of input and signals topics; the changelog is compacted, the dead-letter topic keeps 4x this. */
      retention_ms: z.number().int().positive().default(7 * 24 * 3_600_000),
      /** PLAINTEXT locally; SASL_SSL in production (every client: kafkajs and node-rdkafka). */
      security_protocol: z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']).default('PLAINTEXT'),
      sasl_mechanism: z.enum(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']).default('SCRAM-SHA-512'),
      sasl_username: z.string().default(''),
      /** Secret: never logged, redacted by `config`. Prefer sasl_password_file (a mounted Kubernetes secret). */
      sasl_password: z.string().optional(),
      sasl_password_file: z.string().optional(),
      /** PEM CA bundle that signed the brokers' certificates; unset = the system's CAs. */
      ssl_ca_file: z.string().optional(),
    })
    .prefault({}),
  schema_registry: z
    .object({
      url: z.string().url().default('http://127.0.0.1:8081'),
      /** HTTP basic auth (Redpanda's registry with SASL users, Confluent); '' = none. */
      username: z.string().default(''),
      password: z.string().optional(),
      password_file: z.string().optional(),
    })
    .prefault({}),
  s3: z
    .object({
      endpoint: z.string().url().default('http://127.0.0.1:9000'),
      region: z.string().default('us-east-1'),
      bucket: z.string().default('snap-lake'),
      access_key_id: z.string().default('minioadmin'),
      secret_access_key: z.string().default('minioadmin'),
      /** Read the secret key from this file (a mounted secret) instead of secret_access_key. */
      secret_access_key_file: z.string().optional(),
      /** config = the keys above; sdk = the AWS SDK's default chain (env, web identity / IRSA, instance profile). */
      credentials: z.enum(['config', 'sdk']).default('config'),
    })
    .prefault({}),
  redis: z
    .object({
      /** redis:// or rediss:// (TLS). Credentials go in redis.password(_file), not in the URL. */
      url: z.string().default('redis://127.0.0.1:6379'),
      /** ACL user ('' = the default user) and AUTH password. */
      username: z.string().default(''),
      password: z.string().optional(),
      password_file: z.string().optional(),
      /** PEM CA bundle for rediss:// signed by a private CA. */
      tls_ca_file: z.string().optional(),
      /** Prepended to every key the Redis sink writes (`<prefix>levels:{SPY}:<level_id>`); isolates environments on one server. */
      key_prefix: z.string().default('snap:'),
      /** Expire a level's hash (and the underlying's index) this many seconds after its last write (0 = never): a level
       *  whose feed stopped leaves the online store. Retired levels and other sessions leave at once (docs/features-serving.md). */
      ttl_s: z.number().int().nonnegative().default(300),
      /** Consumer group of `snap-engine sink redis`. */
      sink_group_id: z.string().default('snap-redis-sink'),
    })
    .prefault({}),
  lake: z
    .object({
      data_root: z.string().default('.data/lake'),
      flush_rows: z.number().int().positive().default(50_000),
      /** Lake sink memory bound: rows held in open offset windows across all partitions. Above it the sink pauses every
       *  partition but one until that one's window closes and is written (at least flush_rows). */
      max_buffer_rows: z.number().int().positive().default(100_000),
      /** Tiers `snap-engine sink lake` writes: gold = levels.signals.v1, bronze = the input topics (raw, incl. heartbeats). */
      sink_tiers: z.array(z.enum(['gold', 'bronze'])).min(1).default(['gold', 'bronze']),
      /** Where `snap-engine sink lake` writes objects: under data_root, or to s3.bucket. */
      sink_target: z.enum(['local', 's3']).default('local'),
      /** Consumer group of `snap-engine sink lake`. */
      sink_group_id: z.string().default('snap-lake-sink'),
      /** Prepended to every object key the lake sink writes (e.g. `env/prod/`); '' = keys start at the tier. */
      key_prefix: z.string().default(''),
      /** Lake sink: while caught up, write the open offset window as a partial object (replaced when it closes) every this many ms;
       *  0 = only at --until-idle. Off by default: a rebalance racing a partial PUT can leave the partial over the final object (docs/fanout.md). */
      partial_flush_ms: z.number().int().nonnegative().default(0),
      /** Lake sink freshness: an offset window also closes at the first record whose event time falls in a later bucket of
       *  this many ms than the window's first record (deterministic, so exactly-once holds); 0 = close by offsets only. */
      max_file_age_ms: z.number().int().nonnegative().default(30_000),
      /** Lake sink: an offset window also closes once its rows' estimated Parquet size reaches this many bytes. */
      max_file_bytes: z.number().int().positive().default(64 * 1024 * 1024),
      /** `lake compact`: Silver files are cut near this size (plan §2.2: 256 MB–1 GB). */
      target_file_bytes: z.number().int().positive().default(256 * 1024 * 1024),
      /** `lake compact`: options.trades_enriched.v1 joins a trade with its contract's latest greeks snapshot at most this old. */
      enrich_tolerance_ms: z.number().int().nonnegative().default(60_000),
      /** `lake compact --schedule`: compact today's and yesterday's dates every this many ms. */
      compact_interval_ms: z.number().int().positive().default(900_000),
    })
    .prefault({}),
  feeds: z
    .object({
      /** What a producer does with a record older than its partition's last ts_event_ns (DESIGN decision 2). */
      late_policy: z.enum(['dead_letter', 'clamp']).default('dead_letter'),
      /** Heartbeat cadence in event time; 0 = the snap tick (snap.tick_ms). */
      heartbeat_ms: z.number().int().nonnegative().default(0),
      /** Live feeds only: wall-clock heartbeats trail now by this much, so in-flight vendor records (incl. a REST snapshot's round trip) are not made late. */
      live_heartbeat_lag_ms: z.number().int().nonnegative().default(1000),
      /** Producer batching: send when this many records are buffered (also the memory bound: emit waits when full). */
      batch_records: z.number().int().positive().default(2000),
      /** Producer batching: send a partial batch after this long. */
      linger_ms: z.number().int().nonnegative().default(20),
    })
    .prefault({}),
  massive: z
    .object({
      ws_stocks_url: z.string().default('wss://socket.massive.com/stocks'),
      ws_options_url: z.string().default('wss://socket.massive.com/options'),
      rest_url: z.string().default('https://api.massive.com'),
      api_key: z.string().optional(),
      api_key_file: z.string().optional(),
      strikes_around_spot: z.number().int().positive().default(10),
      /** Strike grid spacing of the subscribed 0DTE contracts (SPY lists $1 strikes). */
      strike_step: pos.default(1),
      snapshot_interval_ms: ms.default(15_000),
      rest_requests_per_second: pos.default(5),
      /** Greeks source: the option chain snapshot, or the universal snapshot of exactly the subscribed contracts. */
      snapshot_endpoint: z.enum(['chain', 'universal']).default('chain'),
      /** An option quote older than this at a trade's time is not used for its customer side (the tick rule decides instead). */
      quote_max_age_ms: z.number().int().nonnegative().default(1000),
      /** WebSocket ping interval (the vendor's client pings every 20 s); 0 = none. */
      ping_interval_ms: z.number().int().nonnegative().default(20_000),
      /** A connection silent this long (no data, no pong) is half-open: it is torn down and reconnected. 0 = no watchdog. */
      idle_timeout_ms: z.number().int().nonnegative().default(45_000),
      /** The plan's data delay: 0 real-time, 900000 on a 15-minute delayed plan (stated in health and logs, nothing is shifted). */
      data_delay_ms: z.number().int().nonnegative().default(0),
      /** Option contracts one options connection may subscribe (the vendor's quote limit); the strike window is narrowed to fit. */
      max_option_contracts: z.number().int().positive().default(1000),
    })
    .prefault({}),
  processor: z
    .object({
      /** Input schemas (one topic each) the processor merges; unset = derived from barrier.source (see processorInputs). */
      inputs: z
        .array(z.enum(DATA_INPUT_SCHEMAS))
        .min(1)
        .optional(),
      /** A transaction commits when released event time crosses a multiple of this many snap ticks (and at idle). */
      commit_every_ticks: z.number().int().positive().default(40),
      /** The changelog snapshot (gzip'd engine state) rides along with a transaction at most this often (wall clock); the
       *  first commit of a task, the drain at end of input and the graceful-shutdown commit always carry one. A restart
       *  replays the input from the last snapshot's offsets with output suppressed up to the committed offsets, so this
       *  bounds the replay, never the output. 0 = a snapshot in every transaction. */
      snapshot_every_ms: z.number().int().nonnegative().default(10_000),
      /** Consumer-group session timeout: how long a SIGKILLed instance keeps its partitions before a peer takes over. */
      session_timeout_ms: z.number().int().min(6000).default(10_000),
      /** /healthz turns 503 when a partition group has input (lag, or fetched but unreleased records) yet released nothing for this long. */
      stall_timeout_ms: z.number().int().min(1000).default(60_000),
      /** /healthz turns 503, snap_processor_book_source_stale{underlying} = 1 and an error names the underlying when its
       *  book source (futures MBP-10, or L1 quotes) sent no record for this long (wall clock) while its other inputs keep
       *  arriving (a blind Barrier; all inputs quiet = market closed, not flagged); 0 = off. */
      book_stale_ms: z.number().int().nonnegative().default(120_000),
    })
    .prefault({}),
  ordering: z
    .object({
      /** What every path (run, demo, processor, replay) does with a record older than its stream's (schema, underlying) event time, beyond late_tolerance_ms (lateness.ts). */
      late_policy: z.enum(['dead_letter', 'clamp']).default('dead_letter'),
      /** Records late by at most this much are clamped to the stream's event time whatever the policy. */
      late_tolerance_ms: z.number().int().nonnegative().default(0),
    })
    .prefault({}),
  http: z.object({ port: z.number().int().min(0).max(65535).default(9464) }).prefault({}),
  gateway: z
    .object({
      /** HTTP + WebSocket port of the dashboard gateway (`/`, `/api/levels`, `/healthz`, WS `/ws/levels`); 0 = any free port. */
      port: z.number().int().min(0).max(65535).default(8787),
      /** Bind address; loopback by default (put a reverse proxy in front to expose it). */
      host: z.string().min(1).default('127.0.0.1'),
      /** Bearer token required on /api/* and /ws/* (header `Authorization: Bearer …`, or `?token=` for browsers'
       *  WebSockets); unset = open (loopback only is the default bind). */
      token: z.string().optional(),
      token_file: z.string().optional(),
      /** Kafka source: a tick whose rows stopped arriving this long ago is broadcast without waiting for the next tick. */
      linger_ms: z.number().int().min(0).default(50),
      /** A WS client with more than this many bytes queued is skipped; it gets only the newest payload once drained. */
      max_buffered_bytes: z.number().int().positive().default(1_048_576),
      /** History the gateway keeps (event-time minutes, one point per second per underlying, plus every BREAK/REJECT
       *  event) and serves at GET /api/levels/history, so a reloaded or late dashboard shows the session so far; 0 = none. */
      history_minutes: z.number().min(0).max(24 * 60).default(30),
    })
    .prefault({}),
  log: z.object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).prefault({}),
  /** `snap-engine eval` (packages/core/src/eval): outcome labels from later prices only, and the metrics' regimes. */
  eval: z
    .object({
      /** BREAK: price trades through the level by at least this much ($) within the episode (until price leaves the
       *  level's zone, at most horizon_ms from its start; the scenarios' physical outcome uses the same 0.25: one "real" move past an SPY level, not a tick of noise). */
      break_distance: pos.default(0.25),
      /** REJECT: after touching the level (within touch_band) price moves this far ($) back on the approach side, before
       *  any BREAK, within the episode. */
      reject_distance: pos.default(0.2),
      /** How close ($) price must come to the level before a retreat counts as a REJECT (a level the price never reached
       *  was not tested). */
      touch_band: nonneg.default(0.05),
      /** Outcome horizon from the episode's first tick in the monitoring zone: the longest an episode (and so the window
       *  its outcome is read in) lasts. */
      horizon_ms: ms.default(120_000),
      /** Quiet regime: ticks whose trailing quiet_window_ms price range (max − min of spot, past ticks only) is at most
       *  quiet_range ($). False signals per hour are reported over these ticks. */
      quiet_window_ms: ms.default(60_000),
      quiet_range: nonneg.default(0.15),
      /** Equal-width bins of break_score_smooth for the reliability diagram and its expected calibration error. */
      reliability_bins: z.number().int().min(2).max(100).default(10),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variables with a conventional name; every other key is `SNAP_<SECTION>_<KEY>` (e.g. SNAP_TAPE_WINDOW_MS). */
export const ENV_ALIASES: Record<string, string> = {
  KAFKA_BROKERS: 'kafka.brokers',
  TOPIC_PREFIX: 'kafka.topic_prefix',
  SCHEMA_REGISTRY_URL: 'schema_registry.url',
  S3_ENDPOINT: 's3.endpoint',
  S3_BUCKET: 's3.bucket',
  AWS_ACCESS_KEY_ID: 's3.access_key_id',
  AWS_SECRET_ACCESS_KEY: 's3.secret_access_key',
  REDIS_URL: 'redis.url',
  DATA_ROOT: 'lake.data_root',
  MASSIVE_API_KEY: 'massive.api_key',
  MASSIVE_API_KEY_FILE: 'massive.api_key_file',
  UNDERLYINGS: 'underlyings',
  LOG_LEVEL: 'log.level',
  KAFKA_SECURITY_PROTOCOL: 'kafka.security_protocol',
  KAFKA_SASL_MECHANISM: 'kafka.sasl_mechanism',
  KAFKA_SASL_USERNAME: 'kafka.sasl_username',
  KAFKA_SASL_PASSWORD: 'kafka.sasl_password',
  KAFKA_SASL_PASSWORD_FILE: 'kafka.sasl_password_file',
  KAFKA_SSL_CA_FILE: 'kafka.ssl_ca_file',
  SCHEMA_REGISTRY_USERNAME: 'schema_registry.username',
  SCHEMA_REGISTRY_PASSWORD: 'schema_registry.password',
  SCHEMA_REGISTRY_PASSWORD_FILE: 'schema_registry.password_file',
  AWS_SECRET_ACCESS_KEY_FILE: 's3.secret_access_key_file',
  REDIS_PASSWORD: 'redis.password',
  REDIS_PASSWORD_FILE: 'redis.password_file',
  REDIS_TLS_CA_FILE: 'redis.tls_ca_file',
  GATEWAY_TOKEN: 'gateway.token',
  GATEWAY_TOKEN_FILE: 'gateway.token_file',
};

/** Config keys that hold secrets: redacted by `config` (redactConfig) and never logged. */
export const SECRET_KEYS = ['kafka.sasl_password', 'schema_registry.password', 's3.secret_access_key', 'redis.password', 'massive.api_key', 'gateway.token'] as const;

/** The config with every secret replaced by "***" (unset secrets stay unset). */
export function redactConfig(cfg: Config): Config {
  const out = JSON.parse(JSON.stringify(cfg)) as Record<string, Record<string, unknown>>;
  for (const k of SECRET_KEYS) {
    const [section, key] = k.split('.') as [string, string];
    if (out[section]?.[key] !== undefined) out[section]![key] = '***';
  }
  return out as unknown as Config;
}

/** The futures root symbol of one underlying's contract (futures.contracts: NQ for QQQ), else basis.futures_symbol. */
export function futuresSymbolOf(cfg: Config, underlying: string): string {
  return cfg.futures.contracts[underlying]?.symbol ?? cfg.basis.futures_symbol;
}

/** The barrier source of one underlying (futures.barrier_sources, else barrier.source). */
export function barrierSourceOf(cfg: Config, underlying: string): 'l1' | 'mbp10' {
  return cfg.futures.barrier_sources[underlying] ?? cfg.barrier.source;
}

/**
 * The config one underlying's engine runs with: its own barrier source, and for MBP-10 its own futures contract
 * (symbol, multiplier, basis half-life) in place of the global basis keys. parseConfig guarantees the contract exists.
 */
export function underlyingConfig(cfg: Config, underlying: string): Config {
  const source = barrierSourceOf(cfg, underlying);
  const c = cfg.futures.contracts[underlying];
  if (source === cfg.barrier.source && (source === 'l1' || !c || (c.symbol === cfg.basis.futures_symbol && c.multiplier === cfg.basis.multiplier && c.basis_half_life_ms === cfg.basis.half_life_ms))) return cfg;
  return {
    ...cfg,
    barrier: { ...cfg.barrier, source },
    basis: c && source === 'mbp10' ? { ...cfg.basis, futures_symbol: c.symbol, multiplier: c.multiplier, half_life_ms: c.basis_half_life_ms } : cfg.basis,
  };
}

/** The processor's input schemas: `processor.inputs`, else what barrier.source needs (L1 quotes, or ES MBP-10 + trades plus
 *  the quotes that still give spot and the basis). */
export function processorInputs(cfg: Config): Config['processor']['inputs'] & {} {
  if (cfg.processor.inputs) return cfg.processor.inputs;
  const base = ['stocks.quotes.v1', 'stocks.trades.v1', 'options.trades.v1', 'options.greeks_snapshots.v1'] as const;
  const mbp10 = cfg.barrier.source === 'mbp10' || cfg.underlyings.some((u) => barrierSourceOf(cfg, u) === 'mbp10');
  return mbp10 ? [...base, 'futures.mbp10.v1', 'futures.trades.v1'] : [...base];
}

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Rules between keys that each pass alone but together contradict the physics. Each names two keys (`a`, `b`) that
 * must satisfy a < b (or a ≤ b with `orEqual`).
 */
export interface CrossFieldRule {
  a: string;
  b: string;
  orEqual?: boolean;
  why: string;
}

export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  { a: 'score.reject_threshold', b: 'score.break_threshold', why: 'REJECT sits below CONTESTED, BREAK above it (score.ts); reversed, one score would be both' },
  { a: 'score.reject_threshold', b: 'signal.reject_exit_threshold', orEqual: true, why: 'a REJECT exits above where it entered (hysteresis), never below' },
  { a: 'signal.reject_exit_threshold', b: 'signal.break_exit_threshold', why: 'a shown REJECT and a shown BREAK cannot both hold at one score' },
  { a: 'signal.break_exit_threshold', b: 'score.break_threshold', orEqual: true, why: 'a BREAK exits below where it entered (hysteresis), never above' },
  { a: 'barrier.r_vac', b: 'barrier.r_wall', why: 'a replenishment ratio below r_vac is VACUUM, above r_wall is WALL; reversed, one ratio would be both' },
  { a: 'levels.touch_band', b: 'levels.monitor_band', orEqual: true, why: 'a touch (REJECT) is a level inside the monitored band' },
  { a: 'tape.velocity_window_ms', b: 'tape.window_ms', orEqual: true, why: 'W_v is a sub-window of the tape window W_t' },
  { a: 'tape.sweep_max_gap_ms', b: 'tape.sweep_max_span_ms', orEqual: true, why: 'a gap inside a sweep cluster cannot exceed the cluster span' },
  { a: 'barrier.fill_match_ms', b: 'barrier.window_ms', orEqual: true, why: 'a fill is matched to a size drop inside the barrier window W_b' },
  { a: 'barrier.window_ms', b: 'barrier.weak_baseline_ms', why: 'the WEAK baseline is a distribution of many barrier windows' },
  { a: 'fuel.window_ms', b: 'fuel.wall_window_ms', orEqual: true, why: 'gamma walls accumulate over at least the fuel window W_g' },
  { a: 'lake.flush_rows', b: 'lake.max_buffer_rows', orEqual: true, why: 'the lake sink must hold one whole offset window to close it' },
  { a: 'eval.touch_band', b: 'eval.reject_distance', why: 'a REJECT is a retreat beyond the touch; within the touch band price is still at the level' },
];

const getPath = (obj: unknown, dotted: string): unknown => dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);

/** Validates a raw (already merged) config object; the first bad value is reported by its dotted key. */
export function parseConfig(raw: unknown): Config {
  const r = ConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path.join('.') || '(root)';
    throw new ConfigError(`invalid config value at "${key}": ${issue.message}`, key);
  }
  for (const rule of CROSS_FIELD_RULES) {
    const a = getPath(r.data, rule.a) as number;
    const b = getPath(r.data, rule.b) as number;
    if (rule.orEqual ? a <= b : a < b) continue;
    throw new ConfigError(`invalid config: "${rule.a}" (${a}) must be ${rule.orEqual ? '≤' : '<'} "${rule.b}" (${b}): ${rule.why}`, rule.a);
  }
  // An MBP-10 barrier without its own futures contract would read no book at all (NEUTRAL/LOW forever) or another
  // underlying's book through the wrong multiplier: refused, naming the underlying and the key to set.
  for (const u of r.data.underlyings) {
    if (barrierSourceOf(r.data, u) !== 'mbp10') continue;
    if (!r.data.futures.contracts[u]?.symbol) {
      throw new ConfigError(
        `invalid config: the barrier of ${u} is mbp10 but "futures.contracts.${u}" names no futures symbol: add {"symbol": …, "multiplier": …} for ${u} or set "futures.barrier_sources.${u}" to "l1"`,
        `futures.contracts.${u}`,
      );
    }
  }
  return r.data;
}

export const defaultConfig = (): Config => parseConfig({});
