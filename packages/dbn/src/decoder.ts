// Streaming DBN decoder over files, Buffers, Node Readables or any (async) iterable of byte chunks. Detects zstd
// (magic 28 B5 2F FD) and decompresses on the fly with fzstd (Node 20's zlib has no zstd). It yields every good
// record and only then throws a DbnError naming the offset of the first bad byte.
import { createReadStream } from 'node:fs';
import { Decompress } from 'fzstd';
import { DbnError } from './errors';
import { DbnMetadata } from './metadata';
import { DbnParser } from './parser';
import { DbnRecord } from './records';

export type DbnSource = string | Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export type DbnItem = { type: 'metadata'; metadata: DbnMetadata } | { type: 'record'; record: DbnRecord; offset: number };

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const ZSTD_SLICE = 16 * 1024;

export function isZstd(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ZSTD_MAGIC.every((b, i) => bytes[i] === b);
}

async function* chunksOf(source: DbnSource, chunkSize: number): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    for await (const c of createReadStream(source, { highWaterMark: chunkSize })) yield c as Buffer;
  } else if (source instanceof Uint8Array) {
    yield source;
  } else {
    for await (const c of source as AsyncIterable<Uint8Array>) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
}

/**
 * Decodes a DBN stream: the metadata item first, then one item per record with its byte offset.
 * On corrupt/truncated input it throws DbnError after yielding all records before the bad offset.
 */
export async function* decodeDbn(source: DbnSource, opts: { chunkSize?: number } = {}): AsyncGenerator<DbnItem, void, undefined> {
  const path = typeof source === 'string' ? source : undefined;
  const parser = new DbnParser();
  let mode: 'detect' | 'plain' | 'zstd' = 'detect';
  let head: Uint8Array = new Uint8Array(0);
  let zstd: Decompress | undefined;
  let out: Uint8Array[] = [];
  let compressedPos = 0;

  const drain = function* (): Generator<DbnItem> {
    for (const c of out) parser.push(c);
    out = [];
    for (;;) {
      const item = parser.next();
      if (!item) return;
      yield item;
    }
  };
  const wrap = (e: unknown): unknown => (e instanceof DbnError ? e.withSource(path, mode === 'zstd') : e);
  const pushZstd = (chunk: Uint8Array, final: boolean) => {
    try {
      zstd!.push(chunk, final);
    } catch (e) {
      // fzstd emits whole blocks only, so the records decoded before this point are all intact.
      throw new DbnError('ZSTD', compressedPos, `zstd decompression failed (${(e as Error).message}) within compressed bytes ${compressedPos - chunk.length}..${compressedPos}`, { path });
    }
  };

  /** Feeds compressed bytes; blocks decompressed before a zstd failure are still parsed and yielded first. */
  const feedZstd = function* (chunk: Uint8Array, final: boolean): Generator<DbnItem> {
    let zerr: unknown;
    try {
      pushZstd(chunk, final);
    } catch (e) {
      zerr = e;
    }
    yield* drain();
    if (zerr) throw zerr;
  };
  const feed = function* (chunk: Uint8Array): Generator<DbnItem> {
    if (mode === 'zstd') {
      // Small compressed slices keep the decompressed backlog (and so the parser buffer) small even at high ratios.
      for (let i = 0; i < chunk.length; i += ZSTD_SLICE) {
        const slice = chunk.subarray(i, i + ZSTD_SLICE);
        compressedPos += slice.length;
        yield* feedZstd(slice, false);
      }
    } else {
      compressedPos += chunk.length;
      out.push(chunk);
      yield* drain();
    }
  };

  try {
    for await (const chunk of chunksOf(source, opts.chunkSize ?? 256 * 1024)) {
      if (mode !== 'detect') {
        yield* feed(chunk);
        continue;
      }
      head = concat(head, chunk);
      if (head.length < 4) continue;
      mode = isZstd(head) ? 'zstd' : 'plain';
      // The parser copies each block at once, so fzstd may reuse its output memory.
      if (mode === 'zstd') zstd = new Decompress((data) => parser.push(data));
      const first = head;
      head = new Uint8Array(0);
      yield* feed(first);
    }
    if (mode === 'detect') out.push(head); // fewer than 4 bytes in total
    if (mode === 'zstd') yield* feedZstd(new Uint8Array(0), true);
    yield* drain();
    parser.finish();
  } catch (e) {
    throw wrap(e);
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
