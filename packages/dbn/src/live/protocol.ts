// Databento's Raw live API (the TCP "live subscription gateway", LSG): the text control messages exchanged before
// the DBN stream starts. Pure: builds and parses lines, computes the CRAM reply; no sockets here.
//
// What we follow, as read in Databento's public sources (our own code, nothing copied):
// - databento-rs `src/live/protocol.rs` (Protocol::authenticate, AuthRequest::new, SubRequest::new, StartRequest,
//   determine_gateway) and databento-python `databento/live/gateway.py` (GatewayControl messages) and
//   `databento/common/cram.py` (get_challenge_response); raw API docs linked from those files,
//   https://databento.com/docs/api-reference-live/ (gateway-control-messages, client-control-messages).
// - Every control message is one line of `key=value` pairs joined by `|`, ending in `\n`.
// - Gateway → client on connect: a greeting `lsg_version=X`, then a challenge `cram=C`.
// - Client → gateway: `auth=<sha256 hex of "C|KEY">-<bucket id = last 5 chars of KEY>|dataset=D|encoding=dbn|
//   compression=none|ts_out=0|1|client=UA[|heartbeat_interval_s=N][|slow_reader_behavior=warn|skip]`.
// - Gateway → client: `success=1|session_id=S` or `success=0|error=TEXT`.
// - Client → gateway: one or more `schema=S|stype_in=T|symbols=A,B|snapshot=0|1|is_last=0|1[|start=NS][|id=N]`
//   (symbols in batches of at most 500, is_last=1 on the last batch; snapshot and start are mutually exclusive),
//   then `start_session` (the Rust client sends the bare word, the Python client `start_session=0`: both accepted).
// - Then the gateway sends a DBN stream: metadata, then records, among them SymbolMappingMsg (how each requested
//   symbol resolves to an instrument id), SystemMsg (heartbeats after heartbeat_interval_s of silence, default 30 s,
//   slow-reader warnings, replay completed) and ErrorMsg.
import { createHash } from 'node:crypto';

/** The gateway host for a dataset: GLBX.MDP3 → glbx-mdp3.lsg.databento.com:13000 (databento-rs determine_gateway). */
export function gatewayFor(dataset: string): { host: string; port: number } {
  return { host: `${dataset.replace(/\./g, '-').toLowerCase()}.lsg.databento.com`, port: 13000 };
}

export const BUCKET_ID_LENGTH = 5;
/** Symbols per subscription line (databento-python SYMBOL_LIST_BATCH_SIZE). */
export const SYMBOL_BATCH = 500;
/** The gateway's heartbeat interval when the client asks for none (databento-rs heartbeat_timeout: interval + 5 s). */
export const DEFAULT_HEARTBEAT_INTERVAL_S = 30;

export const LIVE_SCHEMAS = ['mbp-10', 'trades', 'mbp-1', 'tbbo'] as const;
export type LiveSchema = (typeof LIVE_SCHEMAS)[number];
export const LIVE_STYPES = ['raw_symbol', 'continuous', 'parent', 'instrument_id'] as const;
export type LiveSType = (typeof LIVE_STYPES)[number];

/** Thrown for a line that is not the control message expected at that point of the handshake. */
export class GatewayProtocolError extends Error {
  override name = 'GatewayProtocolError';
}

/** `a=1|b=2` → {a: '1', b: '2'}; the trailing newline may be present or not. */
export function parseControlLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of line.replace(/\r?\n$/, '').split('|')) {
    const eq = part.indexOf('=');
    if (eq < 0) out[part] = '';
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** {a: 1, b: undefined} → `a=1\n` (undefined fields are left out). */
export function controlLine(fields: Record<string, string | number | undefined>): string {
  return (
    Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join('|') + '\n'
  );
}

/** The CRAM reply: sha256 hex of `challenge|key`, a dash, then the key's bucket id (its last 5 characters). */
export function cramResponse(challenge: string, apiKey: string): string {
  const sha = createHash('sha256').update(`${challenge}|${apiKey}`, 'utf8').digest('hex');
  return `${sha}-${apiKey.slice(-BUCKET_ID_LENGTH)}`;
}

export interface AuthRequestOptions {
  dataset: string;
  tsOut: boolean;
  heartbeatIntervalS?: number;
  slowReaderBehavior?: 'warn' | 'skip';
  client?: string;
}

export function authRequestLine(challenge: string, apiKey: string, o: AuthRequestOptions): string {
  return controlLine({
    auth: cramResponse(challenge, apiKey),
    dataset: o.dataset,
    encoding: 'dbn',
    compression: 'none',
    ts_out: o.tsOut ? 1 : 0,
    client: o.client ?? 'snap-engine',
    heartbeat_interval_s: o.heartbeatIntervalS,
    slow_reader_behavior: o.slowReaderBehavior,
  });
}

export interface SubscriptionRequest {
  schema: LiveSchema;
  stypeIn: LiveSType;
  symbols: readonly string[];
  /** Intraday replay from this ts_event (ns, inclusive). */
  start?: bigint;
  /** Ask the gateway for a snapshot of the current state (it offers one only for some schemas). */
  snapshot?: boolean;
  id?: number;
}

/** One subscription as one or more lines (symbols batched, is_last on the last). */
export function subscriptionLines(s: SubscriptionRequest): string[] {
  if (s.snapshot && s.start !== undefined) throw new GatewayProtocolError(`subscription ${s.schema}: snapshot cannot be combined with an intraday replay start`);
  if (s.symbols.length === 0) throw new GatewayProtocolError(`subscription ${s.schema}: no symbols`);
  const lines: string[] = [];
  for (let i = 0; i < s.symbols.length; i += SYMBOL_BATCH) {
    const last = i + SYMBOL_BATCH >= s.symbols.length;
    lines.push(
      controlLine({
        schema: s.schema,
        stype_in: s.stypeIn,
        symbols: s.symbols.slice(i, i + SYMBOL_BATCH).join(','),
        snapshot: s.snapshot ? 1 : 0,
        is_last: last ? 1 : 0,
        start: s.start?.toString(),
        id: s.id,
      }),
    );
  }
  return lines;
}

export const START_SESSION_LINE = 'start_session\n';

/**
 * The stype_in a symbol implies when none is given: `ES.c.0` / `ES.v.0` / `ES.n.0` continuous, `ES.FUT` / `ES.OPT`
 * parent, digits instrument_id, anything else a raw symbol (ESH6).
 */
export function inferSType(symbol: string): LiveSType {
  if (/^[^.]+\.[cvn]\.\d+$/.test(symbol)) return 'continuous';
  if (/^[^.]+\.(FUT|OPT|SPOT)$/.test(symbol)) return 'parent';
  if (/^\d+$/.test(symbol)) return 'instrument_id';
  return 'raw_symbol';
}

/** Reads `\n`-terminated lines from a byte stream until the DBN stream starts; the rest stays in `rest`. */
export class LineReader {
  private buf = Buffer.alloc(0);

  push(chunk: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
  }

  /** The next whole line (without its newline), or null. */
  nextLine(maxLen = 64 * 1024): string | null {
    const nl = this.buf.indexOf(0x0a);
    if (nl < 0) {
      if (this.buf.length > maxLen) throw new GatewayProtocolError(`control line longer than ${maxLen} bytes`);
      return null;
    }
    const line = this.buf.subarray(0, nl).toString('utf8');
    this.buf = this.buf.subarray(nl + 1);
    return line;
  }

  /** Bytes after the last line read (the start of the DBN stream). */
  rest(): Buffer {
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }
}
