// A local stand-in for Databento's live subscription gateway, for tests and demos: it speaks the same Raw API
// (protocol.ts: greeting, CRAM challenge, auth, subscriptions, start_session) and then streams the records of DBN
// files (or in-memory records) as a live session would: metadata, one SymbolMappingMsg per resolved instrument, the
// data of the subscribed schemas (from the subscription's `start` on: intraday replay), a "replay completed"
// SystemMsg when the data runs out, then heartbeats every heartbeat_interval_s.
//
// Faults to inject, each on one connection (default the first) so the client's recovery can be observed: a
// disconnect, a stall (heartbeat loss: the socket stays open and silent), a slow start (greeting delayed), an error
// record, a slow-reader warning, and a refused key.
//
// Not Databento: symbology is resolved against the instruments in the files (any continuous or parent symbol of
// their root resolves to them; the raw contract name is made up from the session date), and heartbeats carry the
// stream's event time (the last record's ts_event), not the wall clock, so replayed old files stay consistent.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readDbn } from '../decoder';
import { RTYPE, STYPES, UNDEF_TIMESTAMP, type DbnSchema } from '../enums';
import { encodeMetadata, type DbnMetadata } from '../metadata';
import { encodeRecord, type DbnRecord, type ErrorMsg, type SymbolMappingMsg, type SystemMsg } from '../records';
import { ERROR_CODE, SYSTEM_CODE, type LiveLogger } from './client';
import { LIVE_SCHEMAS, LineReader, controlLine, cramResponse, parseControlLine, type LiveSchema } from './protocol';

export interface FakeGatewaySource {
  metadata: DbnMetadata;
  records: DbnRecord[];
}

export interface FakeGatewayFaults {
  /** Which connection (1-based) the faults below hit. Default 1. */
  onConnection?: number;
  /** Close the socket abruptly after this many data records. */
  disconnectAfter?: number;
  /** After this many data records, send nothing more (no data, no heartbeats) while keeping the socket open. */
  stallAfter?: number;
  /** Delay the greeting this long. */
  slowStartMs?: number;
  /** Send an ErrorMsg (internal error) after this many data records, then go on. */
  errorAfter?: number;
  /** Send a slow-reader warning SystemMsg after this many data records. */
  slowReaderAfter?: number;
  /** Refuse every key (as if it were wrong or deactivated). */
  rejectAuth?: boolean;
}

export interface FakeGatewayOptions {
  /** The key the gateway accepts. */
  apiKey: string;
  files?: readonly string[];
  sources?: readonly FakeGatewaySource[];
  host?: string;
  port?: number;
  /** Pace event time at speed × real time (0: as fast as the socket takes it). */
  speed?: number;
  /** Heartbeat interval when the client asks for none (s). Default 30, like Databento. */
  heartbeatIntervalS?: number;
  faults?: FakeGatewayFaults;
  logger?: LiveLogger;
}

export class FakeGatewayError extends Error {
  override name = 'FakeGatewayError';
}

const SCHEMA_RTYPE: Record<LiveSchema, number> = { 'mbp-10': RTYPE.MBP_10, trades: RTYPE.MBP_0, 'mbp-1': RTYPE.MBP_1, tbbo: RTYPE.MBP_1 };
const QUARTER_CODES = ['H', 'M', 'U', 'Z'];
const silent: LiveLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface Instrument {
  id: number;
  root: string;
  contract: string;
  /** The symbol the file's metadata mapping names it by (its original request). */
  mapped: string | null;
}

interface Subscription {
  schema: LiveSchema;
  stypeIn: string;
  symbols: string[];
  start: bigint | null;
}

/** The quarterly contract of the quarter `ns` falls in (ESH6 in January 2026; rolls ignored): a made-up but well-formed raw symbol. */
export function frontContract(root: string, ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  const q = Math.floor(d.getUTCMonth() / 3);
  return `${root}${QUARTER_CODES[q]}${d.getUTCFullYear() % 10}`;
}

export class FakeDatabentoGateway {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly sources: FakeGatewaySource[];
  private readonly instruments = new Map<number, Instrument>();
  private readonly log: LiveLogger;
  private connections = 0;
  private sessions = 0;
  readonly dataset: string;
  readonly version: 1 | 2 | 3;
  /** Per connection: data records sent (tests read it). */
  readonly sent: number[] = [];

  private constructor(
    private readonly opts: FakeGatewayOptions,
    sources: FakeGatewaySource[],
  ) {
    if (sources.length === 0) throw new FakeGatewayError('fake gateway: no DBN input (give files or sources)');
    this.sources = sources;
    this.log = opts.logger ?? silent;
    this.dataset = sources[0]!.metadata.dataset;
    this.version = sources[0]!.metadata.version;
    for (const s of sources) {
      if (s.metadata.version !== this.version) throw new FakeGatewayError(`fake gateway: all inputs must share one DBN version (got v${this.version} and v${s.metadata.version})`);
      if (s.metadata.dataset !== this.dataset) throw new FakeGatewayError(`fake gateway: all inputs must share one dataset (got ${this.dataset} and ${s.metadata.dataset})`);
      this.indexInstruments(s);
    }
    this.server = createServer((socket) => void this.serve(socket).catch((e: Error) => {
      this.log.warn('fake gateway: connection ended with an error', { error: e.message });
      socket.destroy();
    }));
  }

  static async start(opts: FakeGatewayOptions): Promise<FakeDatabentoGateway> {
    const sources = [...(opts.sources ?? [])];
    for (const f of opts.files ?? []) {
      const { metadata, records, error } = await readDbn(f);
      if (!metadata) throw new FakeGatewayError(`fake gateway: ${f} has no DBN metadata`);
      if (error) throw new FakeGatewayError(`fake gateway: ${f}: ${error.message}`);
      sources.push({ metadata, records });
    }
    const gw = new FakeDatabentoGateway(opts, sources);
    await new Promise<void>((resolve, reject) => {
      gw.server.once('error', reject);
      gw.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
    return gw;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Data records the gateway can serve per schema (all instruments, no start). */
  recordCount(schema: LiveSchema): number {
    return this.sources.filter((s) => this.serves(s, schema)).reduce((n, s) => n + s.records.filter((r) => r.rtype === SCHEMA_RTYPE[schema]).length, 0);
  }

  /** Drops every open connection (as a gateway restart would), keeping the listener. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private indexInstruments(s: FakeGatewaySource): void {
    const mapped = new Map<number, string>();
    for (const m of s.metadata.mappings) for (const iv of m.intervals) if (/^\d+$/.test(iv.symbol)) mapped.set(Number(iv.symbol), m.raw_symbol);
    const start = s.records.find((r) => r.ts_event > 0n)?.ts_event ?? s.metadata.start;
    for (const r of s.records) {
      if (this.instruments.has(r.instrument_id) || r.rtype === RTYPE.SYMBOL_MAPPING || r.rtype === RTYPE.SYSTEM || r.rtype === RTYPE.ERROR) continue;
      const name = mapped.get(r.instrument_id) ?? null;
      const raw = s.metadata.stype_in === 'raw_symbol' && name ? name : null;
      const root = name ? (raw ? raw.replace(/[FGHJKMNQUVXZ]\d{1,2}$/, '') : name.split('.')[0]!) : 'ES';
      this.instruments.set(r.instrument_id, { id: r.instrument_id, root, contract: raw ?? frontContract(root, start), mapped: name });
    }
  }

  private serves(s: FakeGatewaySource, schema: LiveSchema): boolean {
    const want = SCHEMA_RTYPE[schema];
    if (s.metadata.schema === schema) return true;
    // mbp-1 and tbbo share rtype 0x01: only a file of that very schema serves it; a mixed source serves by rtype.
    if (s.metadata.schema === null) return want !== RTYPE.MBP_1 && s.records.some((r) => r.rtype === want);
    return false;
  }

  private resolve(sym: string, stypeIn: string): Instrument[] {
    const all = [...this.instruments.values()];
    if (stypeIn === 'instrument_id') return all.filter((i) => String(i.id) === sym);
    if (stypeIn === 'raw_symbol') return all.filter((i) => i.contract === sym || i.mapped === sym);
    const m = /^([^.]+)\.(?:[cvn]\.\d+|FUT)$/.exec(sym);
    if (!m) return [];
    const ofRoot = all.filter((i) => i.root === m[1]);
    if (stypeIn === 'continuous') {
      const exact = ofRoot.find((i) => i.mapped === sym);
      return exact ? [exact] : ofRoot.slice(0, 1);
    }
    return ofRoot;
  }

  private async serve(socket: Socket): Promise<void> {
    const connection = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const f = (this.opts.faults?.onConnection ?? 1) === connection ? (this.opts.faults ?? {}) : {};
    const lines = new LineReader();
    const waiters: (() => void)[] = [];
    let closed = false;
    socket.on('data', (c: Buffer) => {
      lines.push(c);
      for (const w of waiters.splice(0)) w();
    });
    socket.on('close', () => {
      closed = true;
      for (const w of waiters.splice(0)) w();
    });
    const readLine = async (): Promise<string | null> => {
      for (;;) {
        const l = lines.nextLine();
        if (l !== null) return l;
        if (closed) return null;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    if (f.slowStartMs) await sleep(f.slowStartMs);
    if (closed) return;
    const cram = randomBytes(16).toString('hex');
    socket.write(controlLine({ lsg_version: '0.0.0-snap-engine-fake' }));
    socket.write(controlLine({ cram }));
    const authLine = await readLine();
    if (authLine === null) return;
    const auth = parseControlLine(authLine);
    const refuse = (error: string) => {
      socket.end(controlLine({ success: 0, error }));
      this.log.info('fake gateway: authentication refused', { connection, error });
    };
    if (f.rejectAuth || auth.auth !== cramResponse(cram, this.opts.apiKey)) return refuse('Authentication failed.');
    if (auth.dataset !== this.dataset) return refuse(`Unknown dataset ${auth.dataset}; this gateway serves ${this.dataset}.`);
    if (auth.encoding !== 'dbn') return refuse(`Unsupported encoding ${auth.encoding}.`);
    const tsOut = auth.ts_out === '1';
    const hbS = auth.heartbeat_interval_s ? Number(auth.heartbeat_interval_s) : (this.opts.heartbeatIntervalS ?? 30);
    const sessionId = String(++this.sessions);
    socket.write(controlLine({ success: 1, session_id: sessionId }));

    const subs: Subscription[] = [];
    for (;;) {
      const l = await readLine();
      if (l === null) return;
      const m = parseControlLine(l);
      if ('start_session' in m) break;
      const schema = m.schema as LiveSchema;
      if (!LIVE_SCHEMAS.includes(schema)) {
        socket.end(this.errorBytes(tsOut, 0n, `Invalid schema ${m.schema}`, ERROR_CODE.INVALID_SUBSCRIPTION));
        return;
      }
      const symbols = (m.symbols ?? '').split(',').filter((s) => s !== '');
      const start = m.start ? BigInt(m.start) : null;
      const same = subs.find((s) => s.schema === schema && s.stypeIn === m.stype_in && s.start === start);
      if (same) same.symbols.push(...symbols);
      else subs.push({ schema, stypeIn: m.stype_in ?? 'raw_symbol', symbols, start });
    }
    this.sent[connection - 1] = 0;
    await this.stream(socket, connection, subs, tsOut, hbS, f, () => closed);
  }

  private async stream(socket: Socket, connection: number, subs: Subscription[], tsOut: boolean, hbS: number, f: FakeGatewayFaults, isClosed: () => boolean): Promise<void> {
    const schemas = [...new Set(subs.map((s) => s.schema))];
    // Which instruments each schema streams, and from when.
    const plan = new Map<number, { ids: Set<number>; start: bigint | null }>();
    const out: Uint8Array[] = [];
    let firstTs: bigint | null = null;
    for (const src of this.sources) for (const r of src.records) if (firstTs === null || r.ts_event < firstTs) firstTs = r.ts_event;
    const t0 = subs.reduce<bigint | null>((m, s) => (s.start !== null && (m === null || s.start < m) ? s.start : m), null) ?? firstTs ?? 0n;
    const meta: DbnMetadata = {
      version: this.version,
      dataset: this.dataset,
      schema: schemas.length === 1 ? (schemas[0] as DbnSchema) : null,
      start: t0,
      end: null,
      limit: null,
      stype_in: schemas.length === 1 ? (subs[0]!.stypeIn as DbnMetadata['stype_in']) : null,
      stype_out: 'instrument_id',
      ts_out: tsOut,
      symbol_cstr_len: this.version === 1 ? 22 : 71,
      symbols: [],
      partial: [],
      not_found: [],
      mappings: [],
    };
    out.push(encodeMetadata(meta));
    const mapped = new Set<string>();
    for (const s of subs) {
      for (const sym of s.symbols) {
        const found = this.resolve(sym, s.stypeIn);
        if (found.length === 0) {
          out.push(this.errorBytes(tsOut, t0, `Failed to resolve symbol: ${sym}`, ERROR_CODE.SYMBOL_RESOLUTION_FAILED));
          continue;
        }
        for (const i of found) {
          const p = plan.get(SCHEMA_RTYPE[s.schema]) ?? { ids: new Set<number>(), start: s.start };
          p.ids.add(i.id);
          if (p.start !== null && (s.start === null || s.start < p.start)) p.start = s.start;
          plan.set(SCHEMA_RTYPE[s.schema], p);
          if (mapped.has(`${sym}|${i.id}`)) continue;
          mapped.add(`${sym}|${i.id}`);
          const m: SymbolMappingMsg = {
            kind: 'symbol_mapping',
            rtype: RTYPE.SYMBOL_MAPPING,
            publisher_id: 0,
            instrument_id: i.id,
            ts_event: t0,
            stype_in: STYPES.indexOf(s.stypeIn as (typeof STYPES)[number]),
            stype_in_symbol: sym,
            stype_out: STYPES.indexOf('raw_symbol'),
            stype_out_symbol: i.contract,
            start_ts: t0,
            end_ts: UNDEF_TIMESTAMP,
          };
          out.push(this.encode(m, tsOut));
        }
      }
    }
    if (isClosed()) return;
    socket.write(Buffer.concat(out));

    // The data: a merge of the sources serving the subscribed schemas, in ts_event order (stable on ties).
    const served = this.sources.filter((src) => schemas.some((sc) => this.serves(src, sc)));
    const want = (r: DbnRecord) => {
      const p = plan.get(r.rtype);
      return p !== undefined && p.ids.has(r.instrument_id) && (p.start === null || r.ts_event >= p.start);
    };
    const idx = served.map(() => 0);
    const speed = this.opts.speed ?? 0;
    let pace0: { ts: bigint; wall: number } | null = null;
    let lastTs = t0;
    let sent = 0;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const ok = socket.write(Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
      if (!ok) await new Promise<void>((r) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          r();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
    };
    for (;;) {
      if (isClosed()) return;
      let k = -1;
      for (let i = 0; i < served.length; i++) {
        const recs = served[i]!.records;
        while (idx[i]! < recs.length && !want(recs[idx[i]!]!)) idx[i]!++;
        if (idx[i]! < recs.length && (k < 0 || recs[idx[i]!]!.ts_event < served[k]!.records[idx[k]!]!.ts_event)) k = i;
      }
      if (k < 0) break;
      const r = served[k]!.records[idx[k]!++]!;
      if (speed > 0) {
        pace0 ??= { ts: r.ts_event, wall: Date.now() };
        const ahead = pace0.wall + Number(r.ts_event - pace0.ts) / 1e6 / speed - Date.now();
        if (ahead > 4) {
          await flush();
          await sleep(ahead);
        }
      }
      const bytes = this.encode(r, tsOut);
      pending.push(bytes);
      pendingBytes += bytes.length;
      lastTs = r.ts_event;
      sent++;
      this.sent[connection - 1] = sent;
      if (sent === f.errorAfter) {
        const e = this.errorBytes(tsOut, lastTs, 'Internal error (injected by the fake gateway)', ERROR_CODE.INTERNAL_ERROR);
        pending.push(e);
        pendingBytes += e.length;
      }
      if (sent === f.slowReaderAfter) {
        const w = this.systemBytes(tsOut, lastTs, 'Slow reader: the session is falling behind real time (injected)', SYSTEM_CODE.SLOW_READER_WARNING);
        pending.push(w);
        pendingBytes += w.length;
      }
      if (sent === f.disconnectAfter) {
        await flush();
        this.log.info('fake gateway: injected disconnect', { connection, after_records: sent });
        socket.destroy();
        return;
      }
      if (sent === f.stallAfter) {
        await flush();
        this.log.info('fake gateway: injected stall (no more data, no heartbeats)', { connection, after_records: sent });
        return; // the socket stays open and silent until the client gives up on it
      }
      if (pendingBytes >= 64 * 1024) {
        await flush();
        // Let the rest of the process run (a client in the same process must not see a silent socket).
        await new Promise((r) => setImmediate(r));
      }
    }
    const done = this.systemBytes(tsOut, lastTs, 'Finished replay of the DBN input; heartbeats from now on', SYSTEM_CODE.REPLAY_COMPLETED);
    pending.push(done);
    pendingBytes += done.length;
    await flush();
    this.log.info('fake gateway: replay completed', { connection, records: sent });
    while (!isClosed()) {
      await sleep(hbS * 1000, true);
      if (isClosed()) return;
      socket.write(this.systemBytes(tsOut, lastTs, 'Heartbeat', SYSTEM_CODE.HEARTBEAT));
    }
  }

  private encode(r: DbnRecord, tsOut: boolean): Uint8Array {
    return encodeRecord(tsOut ? { ...r, ts_out: BigInt(Date.now()) * 1_000_000n } : r, this.version, tsOut);
  }

  private systemBytes(tsOut: boolean, ts: bigint, msg: string, code: number): Uint8Array {
    const r: SystemMsg = { kind: 'system', rtype: RTYPE.SYSTEM, publisher_id: 0, instrument_id: 0, ts_event: ts, msg: this.version === 1 ? msg.slice(0, 63) : msg, code };
    return this.encode(r, tsOut);
  }

  private errorBytes(tsOut: boolean, ts: bigint, err: string, code: number): Uint8Array {
    const r: ErrorMsg = { kind: 'error', rtype: RTYPE.ERROR, publisher_id: 0, instrument_id: 0, ts_event: ts, err: this.version === 1 ? err.slice(0, 63) : err, code, is_last: 1 };
    return this.encode(r, tsOut);
  }
}

function sleep(ms: number, unref = false): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    if (unref) t.unref();
  });
}
