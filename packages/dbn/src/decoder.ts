// Streaming DBN decoder over files, Buffers, Node Readables or any (async) iterable of byte chunks. Detects zstd
// (magic 28 B5 2F FD) and decompresses on the fly (zstd.ts: the reference zstd as WASM for frames of declared size,
// fzstd for the rest; Node 20's zlib has no zstd). It yields every good record and only then throws a DbnError naming
// the offset of the first bad byte.
//
// One decode path, three ways to consume it: dbnFrames() hands out the parser positioned over decompressed bytes
// (zero-copy record views: `dump --json` formats straight from them), decodeDbnBatches() yields arrays of decoded
// records per piece of input, and decodeDbn() one item per record (metadata first, each record with its offset).
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { DbnError } from './errors';
import { DbnMetadata } from './metadata';
import { DbnParser } from './parser';
import { DbnRecord } from './records';
import { ZstdStream, ZstdStreamError, loadWasmZstd } from './zstd';

export type DbnSource = string | Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export type DbnItem = { type: 'metadata'; metadata: DbnMetadata } | { type: 'record'; record: DbnRecord; offset: number };

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

export function isZstd(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ZSTD_MAGIC.every((b, i) => bytes[i] === b);
}

async function* chunksOf(source: DbnSource, chunkSize: number): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    for await (const c of createReadStream(source, { highWaterMark: chunkSize })) yield c as Buffer;
  } else if (source instanceof Uint8Array) {
    // Whole buffers are cut into pieces too, so the parser buffer stays small whatever the input size.
    for (let i = 0; i < source.length; i += chunkSize) yield source.subarray(i, Math.min(source.length, i + chunkSize));
    if (source.length === 0) yield source;
  } else {
    for await (const c of source as AsyncIterable<Uint8Array>) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
}

/** What dbnFrames() yields: the metadata once it is known, and the parser to pull records from. */
export interface DbnFrame {
  metadata: DbnMetadata;
  parser: DbnParser;
}

/**
 * The low-level stream: yields the parser each time new decompressed bytes are in it (the metadata is parsed
 * before the first yield). The consumer drains it with parser.nextRecord() until -1 before asking for the next
 * frame; a record's bytes stay valid only until then. Corrupt input: every good record is drained first, then
 * nextRecord() (or the generator) throws the DbnError naming the file and offset.
 */
export async function* dbnFrames(source: DbnSource, opts: { chunkSize?: number } = {}): AsyncGenerator<DbnFrame, void, undefined> {
  const path = typeof source === 'string' ? source : undefined;
  const parser = new DbnParser();
  parser.label(path, false);
  // Widened: feed() changes it, which TypeScript's narrowing in this function cannot see.
  let mode = 'detect' as 'detect' | 'plain' | 'zstd';
  let head: Uint8Array = new Uint8Array(0);
  let zstd: ZstdStream | undefined;
  let metadata: DbnMetadata | undefined;
  const wrap = (e: unknown): unknown => (e instanceof DbnError ? e.withSource(path, mode === 'zstd') : e);

  /** Parses the metadata once enough bytes are in. */
  const ready = (): boolean => {
    if (metadata) return true;
    const item = parser.next();
    if (item && item.type === 'metadata') metadata = item.metadata;
    return metadata !== undefined;
  };
  const zstdError = (e: ZstdStreamError): DbnError =>
    new DbnError('ZSTD', e.to, `zstd decompression failed (${e.message}) within compressed bytes ${e.from}..${e.to}`, { path });

  /** Decompressed pieces go through the parser one at a time, so it only ever holds one piece plus a partial record. */
  const pumpZstd = async function* (): AsyncGenerator<DbnFrame> {
    for (;;) {
      let piece: Uint8Array | null;
      try {
        piece = zstd!.read();
      } catch (e) {
        if (e instanceof ZstdStreamError) throw zstdError(e);
        throw e;
      }
      if (!piece) return;
      parser.push(piece);
      if (ready()) yield { metadata: metadata!, parser };
    }
  };

  /** One piece of input: detects plain or zstd on the first 4 bytes, then feeds the parser (through zstd if need be). */
  const feed = async function* (chunk: Uint8Array): AsyncGenerator<DbnFrame> {
    if (mode === 'detect') {
      head = concat(head, chunk);
      // Kept across calls: a copy, the caller may reuse its buffer.
      if (head.length < 4) {
        head = head.slice();
        return;
      }
      mode = isZstd(head) ? 'zstd' : 'plain';
      if (mode === 'zstd') {
        zstd = new ZstdStream(await loadWasmZstd());
        parser.label(path, true);
      }
      chunk = head;
      head = new Uint8Array(0);
    }
    if (mode === 'zstd') {
      zstd!.push(chunk);
      yield* pumpZstd();
    } else {
      parser.push(chunk);
      if (ready()) yield { metadata: metadata!, parser };
    }
  };

  const chunkSize = opts.chunkSize ?? 256 * 1024;
  const fd = typeof source === 'string' ? openRegularFile(source) : undefined;
  try {
    if (fd !== undefined) {
      // A regular file: synchronous reads (a page-cache hit costs less than a ReadStream's per-chunk machinery), and
      // a plain DBN file is read straight into the parser's buffer, so its bytes are never copied.
      const chunk = Buffer.allocUnsafe(chunkSize);
      for (;;) {
        if (mode === 'plain') {
          const at = parser.reserve(chunkSize);
          const n = readSync(fd, parser.buf, at, chunkSize, null);
          if (n === 0) break;
          parser.commit(n);
          if (ready()) yield { metadata: metadata!, parser };
        } else {
          const n = readSync(fd, chunk, 0, chunkSize, null);
          if (n === 0) break;
          // zstd.push() and the detect step copy what they keep, so the read buffer is reused.
          yield* feed(chunk.subarray(0, n));
        }
      }
    } else {
      for await (const chunk of chunksOf(source, chunkSize)) yield* feed(chunk);
    }
    if (mode === 'detect') {
      // fewer than 4 bytes in total
      parser.push(head);
      if (ready()) yield { metadata: metadata!, parser };
    }
    if (mode === 'zstd') {
      zstd!.end();
      yield* pumpZstd();
    }
    ready();
    parser.finish();
  } catch (e) {
    throw wrap(e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** An open descriptor if `path` is a regular file; undefined for pipes, devices and the like (read as a stream). */
function openRegularFile(path: string): number | undefined {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  closeSync(fd);
  return undefined;
}

const BATCH_RECORDS = 256;

/** Decoded records in batches (up to BATCH_RECORDS, within one piece of decompressed input): the fast way to read every record as an object. */
export async function* decodeDbnBatches(source: DbnSource, opts: { chunkSize?: number } = {}): AsyncGenerator<{ metadata: DbnMetadata; records: DbnRecord[] }, void, undefined> {
  let meta: DbnMetadata | undefined;
  let records: DbnRecord[] = [];
  try {
    for await (const { metadata, parser } of dbnFrames(source, opts)) {
      meta = metadata;
      for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) {
        records.push(parser.decodeCurrent(b));
        // Small batches: a whole 1 MiB zstd frame of records (~100k objects) kept alive at once outlives the young
        // generation and makes every batch a full GC's work (4x slower measured).
        if (records.length >= BATCH_RECORDS) {
          const out = records;
          records = [];
          yield { metadata, records: out };
        }
      }
      if (records.length > 0) {
        const out = records;
        records = [];
        yield { metadata, records: out };
      }
    }
  } catch (e) {
    // The records decoded before the error first, then the error.
    if (records.length > 0 && meta) yield { metadata: meta, records };
    throw e;
  }
}

/**
 * Decodes a DBN stream: the metadata item first, then one item per record with its byte offset.
 * On corrupt/truncated input it throws DbnError after yielding all records before the bad offset.
 */
export async function* decodeDbn(source: DbnSource, opts: { chunkSize?: number } = {}): AsyncGenerator<DbnItem, void, undefined> {
  let sentMeta = false;
  for await (const { metadata, parser } of dbnFrames(source, opts)) {
    if (!sentMeta) {
      sentMeta = true;
      yield { type: 'metadata', metadata };
    }
    for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) {
      const record = parser.decodeCurrent(b);
      yield { type: 'record', record, offset: parser.recordOffset };
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}

export interface DbnStream {
  metadata: DbnMetadata;
  /** Remaining records; throws DbnError (after the good records) on corrupt input. */
  records: AsyncGenerator<DbnRecord, void, undefined>;
}

/** Reads the metadata header and returns it with a generator over the records. */
export async function openDbn(source: DbnSource, opts: { chunkSize?: number } = {}): Promise<DbnStream> {
  const items = decodeDbn(source, opts);
  const first = await items.next();
  if (first.done || first.value.type !== 'metadata') throw new DbnError('TRUNCATED', 0, 'no DBN metadata in input');
  const metadata = first.value.metadata;
  async function* records(): AsyncGenerator<DbnRecord, void, undefined> {
    for await (const item of items) if (item.type === 'record') yield item.record;
  }
  return { metadata, records: records() };
}

/** Whole file in memory (small files, tests): metadata, records, and the error that stopped decoding, if any. */
export async function readDbn(source: DbnSource): Promise<{ metadata: DbnMetadata | undefined; records: DbnRecord[]; error: DbnError | undefined }> {
  let metadata: DbnMetadata | undefined;
  const records: DbnRecord[] = [];
  try {
    for await (const item of decodeDbn(source)) {
      if (item.type === 'metadata') metadata = item.metadata;
      else records.push(item.record);
    }
  } catch (e) {
    if (e instanceof DbnError) return { metadata, records, error: e };
    throw e;
  }
  return { metadata, records, error: undefined };
}
