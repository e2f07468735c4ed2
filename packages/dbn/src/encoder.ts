// DBN encoder: metadata + records, plain or zstd, DBN v3 by default and v1/v2 on request (the version comes from
// metadata.version). zstd output uses @bokuweb/zstd-wasm (fzstd only decompresses); the streaming writer emits one
// zstd frame per ~1 MiB of DBN, and concatenated frames form one valid zstd stream.
import { open, FileHandle } from 'node:fs/promises';
import { DbnError } from './errors';
import { wasmZstdLib } from './zstd';
import { DbnVersion } from './layout';
import { DbnMetadata, encodeMetadata, symbolCstrLenFor } from './metadata';
import { DbnRecord, encodeRecordInto, encodedRecordLength } from './records';

export type DbnCompression = 'none' | 'zstd';

// One WASM instance per process, shared with the decoder (zstd.ts).
const zstdLib = wasmZstdLib;

export async function zstdCompress(bytes: Uint8Array, level = 3): Promise<Uint8Array> {
  return (await zstdLib()).compress(bytes, level);
}

/** The same metadata re-targeted at another DBN version (symbol_cstr_len follows the version). */
export function metadataForVersion(meta: DbnMetadata, version: DbnVersion): DbnMetadata {
  return { ...meta, version, symbol_cstr_len: symbolCstrLenFor(version) };
}

/** Encodes a whole plain (uncompressed) DBN stream in memory. */
export function encodeDbn(meta: DbnMetadata, records: Iterable<DbnRecord>): Uint8Array {
  const head = encodeMetadata(meta);
  const recs = Array.isArray(records) ? (records as DbnRecord[]) : [...records];
  let total = head.length;
  for (const r of recs) total += encodedRecordLength(r, meta.version, meta.ts_out);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(head, 0);
  let pos = head.length;
  for (let i = 0; i < recs.length; i++) pos += encodeAt(recs[i]!, meta, out, dv, pos, i);
  return out;
}

function encodeAt(rec: DbnRecord, meta: DbnMetadata, out: Uint8Array, dv: DataView, pos: number, index: number): number {
  try {
    return encodeRecordInto(rec, meta.version, meta.ts_out, out, dv, pos);
  } catch (e) {
    if (e instanceof DbnError) throw new DbnError('ENCODE', index, `record #${index}: ${e.detail}`);
    throw e;
  }
}

/** Encodes a whole DBN stream, zstd-compressed (one frame). */
export async function encodeDbnZstd(meta: DbnMetadata, records: Iterable<DbnRecord>, level = 3): Promise<Uint8Array> {
  return zstdCompress(encodeDbn(meta, records), level);
}

/** Streams records to a file with bounded memory; call close() to flush. */
export class DbnWriter {
  private buf: Uint8Array;
  private dv: DataView;
  private pos = 0;
  private count = 0;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly metadata: DbnMetadata,
    private readonly compression: DbnCompression,
    private readonly frameBytes: number,
  ) {
    this.buf = new Uint8Array(frameBytes + 2048);
    this.dv = new DataView(this.buf.buffer);
  }

  static async create(path: string, metadata: DbnMetadata, opts: { compression?: DbnCompression; frameBytes?: number } = {}): Promise<DbnWriter> {
    const compression = opts.compression ?? (path.endsWith('.zst') ? 'zstd' : 'none');
    const head = encodeMetadata(metadata);
    const fh = await open(path, 'w');
    const w = new DbnWriter(fh, metadata, compression, Math.max(opts.frameBytes ?? 1 << 20, head.length));
    w.buf.set(head, 0);
    w.pos = head.length;
    return w;
  }

  get recordsWritten(): number {
    return this.count;
  }

  async write(rec: DbnRecord): Promise<void> {
    if (this.closed) throw new DbnError('ENCODE', this.count, 'write after close');
    const len = encodedRecordLength(rec, this.metadata.version, this.metadata.ts_out);
    if (this.pos + len > this.buf.length) await this.flush();
    this.pos += encodeAt(rec, this.metadata, this.buf, this.dv, this.pos, this.count);
    this.count++;
    if (this.pos >= this.frameBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pos === 0) return;
    const bytes = this.buf.subarray(0, this.pos);
    await this.fh.write(this.compression === 'zstd' ? await zstdCompress(bytes) : bytes);
    this.buf.fill(0, 0, this.pos); // records rely on zeroed reserved bytes
    this.pos = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.fh.close();
  }
}
