// Sans-I/O DBN parser: push decompressed bytes in, pull the metadata then records out. Memory stays bounded by
// the largest pushed chunk plus one partial record, whatever the file size.
import { DbnError } from './errors';
import { CompiledDecoder, compiledDecoder } from './compiled';
import { HEADER_LEN as HEADER_BYTES, DbnVersion, layoutFor } from './layout';

// A local copy: module imports compile to live-binding getters under tsx/CJS, a call per use in hot loops.
const HEADER_LEN: number = HEADER_BYTES;
import { DBN_PRELUDE_LEN, DbnMetadata, checkVersion, decodeMetadataBody } from './metadata';
import { DbnRecord, decodeRecord } from './records';

/** Far above any real header (100k symbol mappings ≈ 15 MB). */
const MAX_METADATA_LEN = 256 * 1024 * 1024;

export type ParsedItem = { type: 'metadata'; metadata: DbnMetadata } | { type: 'record'; record: DbnRecord; offset: number };

export class DbnParser {
  /** The parse buffer: valid for the record last returned by nextRecord() until the next push(). */
  buf = new Uint8Array(64 * 1024);
  dv = new DataView(this.buf.buffer);
  /** Length (bytes, ts_out included) and absolute stream offset of the record last returned by nextRecord(). */
  recordLength = 0;
  recordOffset = 0;
  /** Labels errors with the file they come from (the byte-level parser does not know it otherwise). */
  private path: string | undefined;
  private compressed = false;
  private start = 0;
  private end = 0;
  /** Absolute stream offset of buf[0]. */
  private base = 0;
  private state: 'prelude' | 'metadata' | 'records' = 'prelude';
  private metadataLength = 0;
  private version: DbnVersion = 3;
  private tsOut = false;
  private meta: DbnMetadata | undefined;
  private failed: DbnError | undefined;

  get metadata(): DbnMetadata | undefined {
    return this.meta;
  }

  get dbnVersion(): DbnVersion {
    return this.version;
  }

  get hasTsOut(): boolean {
    return this.tsOut;
  }

  /** Errors thrown from now on name `path` and say whether offsets are in the decompressed stream. */
  label(path: string | undefined, compressed: boolean): void {
    this.path = path;
    this.compressed = compressed;
  }

  /** Labels a DbnError with the source, remembers it (later calls throw it again) and throws it. */
  raise(e: unknown): never {
    if (e instanceof DbnError) {
      this.failed = this.path !== undefined || this.compressed ? e.withSource(this.path, this.compressed) : e;
      throw this.failed;
    }
    throw e;
  }

  /** Absolute offset of the next unparsed byte. */
  get offset(): number {
    return this.base + this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const at = this.reserve(chunk.length); // may replace buf
    this.buf.set(chunk, at);
    this.end += chunk.length;
  }

  /**
   * Makes room for `n` more bytes and returns where they go in `buf`: a reader fills buf[at, at + n) itself
   * (fs.readSync straight into the parse buffer, no copy) and then calls commit(). Only the partial record at the
   * end is moved, to the front; `buf` may be replaced (grown), so read it after this call.
   */
  reserve(n: number): number {
    if (this.end + n > this.buf.length) {
      const live = this.end - this.start;
      if (live + n > this.buf.length) {
        const grown = new Uint8Array(Math.max(this.buf.length * 2, live + n));
        grown.set(this.buf.subarray(this.start, this.end));
        this.buf = grown;
        this.dv = new DataView(grown.buffer);
      } else {
        this.buf.copyWithin(0, this.start, this.end);
      }
      this.base += this.start;
      this.end = live;
      this.start = 0;
    }
    return this.end;
  }

  /** `n` bytes were written at the position reserve() returned. */
  commit(n: number): void {
    this.end += n;
  }

  /** Next complete item, or null when more bytes are needed. Throws DbnError on corrupt input (and keeps throwing it). */
  next(): ParsedItem | null {
    if (this.failed) throw this.failed;
    try {
      return this.step();
    } catch (e) {
      return this.raise(e);
    }
  }

  /**
   * The zero-copy path: once the metadata is out (next() returned it), frames the next whole record and returns
   * the index of its header in `buf` (its length and offset in recordLength / recordOffset), or -1 when more bytes
   * are needed. Nothing is decoded or allocated; decodeRecord / the JSON formatters read the fields from there.
   */
  nextRecord(): number {
    if (this.failed) throw this.failed;
    const start = this.start;
    const avail = this.end - start;
    if (avail < HEADER_LEN || this.state !== 'records') {
      if (this.state !== 'records') this.raise(new DbnError('BAD_METADATA', this.offset, 'nextRecord() called before the metadata was read'));
      return -1;
    }
    const length = this.buf[start]! * 4;
    if (length < HEADER_LEN + (this.tsOut ? 8 : 0)) this.raise(this.badLength());
    if (avail < length) return -1;
    this.recordLength = length;
    this.recordOffset = this.base + start;
    this.start = start + length;
    return start;
  }

  private badLength(): DbnError {
    const minLen = HEADER_LEN + (this.tsOut ? 8 : 0);
    return new DbnError('BAD_RECORD', this.offset, `record length ${this.buf[this.start]! * 4} (header byte ${this.buf[this.start]}) is shorter than the ${minLen}-byte minimum`);
  }

  /** Per-rtype decoders for this stream's version and ts_out (an array lookup per record); null = no layout. */
  private decoders: (CompiledDecoder | null | undefined)[] = new Array(256);
  private minLengths: number[] = new Array(256).fill(0);

  /** Decodes the record last returned by nextRecord() into a DbnRecord. */
  decodeCurrent(b: number): DbnRecord {
    const rtype = this.buf[b + 1]!;
    let dec = this.decoders[rtype];
    if (dec === undefined) {
      const layout = layoutFor(rtype, this.version);
      dec = layout ? compiledDecoder(layout, this.tsOut) : null;
      this.decoders[rtype] = dec;
      if (layout) this.minLengths[rtype] = layout.size + (this.tsOut ? 8 : 0);
    }
    const length = this.recordLength;
    if (dec === null || length < this.minLengths[rtype]!) {
      // Unknown rtypes and short records: the general path (raw bytes, or the BAD_RECORD error).
      try {
        return decodeRecord(this.buf, this.dv, b, length, this.version, this.tsOut, this.recordOffset);
      } catch (e) {
        return this.raise(e);
      }
    }
    return dec(this.buf, this.dv, b, this.tsOut ? length - 8 : length) as unknown as DbnRecord;
  }

  private step(): ParsedItem | null {
    const avail = this.end - this.start;
    if (this.state === 'prelude') {
      // Check the magic as soon as 3 bytes exist so garbage is rejected even if shorter than a prelude.
      if (avail >= 3 && !(this.buf[this.start] === 0x44 && this.buf[this.start + 1] === 0x42 && this.buf[this.start + 2] === 0x4e)) {
        const got = Array.from(this.buf.subarray(this.start, this.start + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
        throw new DbnError('BAD_HEADER', this.offset, `expected "DBN" magic (44 42 4e) or a zstd frame (28 b5 2f fd), got ${got}`);
      }
      if (avail < DBN_PRELUDE_LEN) return null;
      this.version = checkVersion(this.buf[this.start + 3]!, this.offset + 3);
      this.metadataLength = this.dv.getUint32(this.start + 4, true);
      if (this.metadataLength > MAX_METADATA_LEN) {
        // A corrupt length would otherwise make the parser buffer the whole file before failing.
        throw new DbnError('BAD_METADATA', this.offset + 4, `metadata length ${this.metadataLength} exceeds the ${MAX_METADATA_LEN}-byte limit`);
      }
      this.start += DBN_PRELUDE_LEN;
      this.state = 'metadata';
      return this.step();
    }
    if (this.state === 'metadata') {
      if (avail < this.metadataLength) return null;
      const body = this.buf.subarray(this.start, this.start + this.metadataLength);
      this.meta = decodeMetadataBody(this.version, body, this.offset);
      this.tsOut = this.meta.ts_out;
      this.start += this.metadataLength;
      this.state = 'records';
      return { type: 'metadata', metadata: this.meta };
    }
    if (avail < HEADER_LEN) return null;
    const length = this.buf[this.start]! * 4;
    if (length < HEADER_LEN + (this.tsOut ? 8 : 0)) throw this.badLength();
    if (avail < length) return null;
    const offset = this.offset;
    const record = decodeRecord(this.buf, this.dv, this.start, length, this.version, this.tsOut, offset);
    this.start += length;
    return { type: 'record', record, offset };
  }

  /** Call at end of input: throws TRUNCATED if the stream stopped inside the header or a record. */
  finish(): void {
    if (this.failed) throw this.failed;
    try {
      this.finishChecks();
    } catch (e) {
      this.raise(e);
    }
  }

  private finishChecks(): void {
    const avail = this.end - this.start;
    if (this.state === 'prelude') {
      throw new DbnError('TRUNCATED', this.offset, avail === 0 ? 'empty input: no DBN header' : `input ends inside the ${DBN_PRELUDE_LEN}-byte DBN prelude (${avail} bytes)`);
    }
    if (this.state === 'metadata') {
      throw new DbnError('TRUNCATED', this.offset, `input ends inside the metadata header: needs ${this.metadataLength} bytes, ${avail} remain`);
    }
    if (avail > 0) {
      const detail = avail < HEADER_LEN
        ? `input ends inside a record header: ${avail} of ${HEADER_LEN} bytes`
        : `input ends inside a record (rtype 0x${this.buf[this.start + 1]!.toString(16).padStart(2, '0')}): needs ${this.buf[this.start]! * 4} bytes, ${avail} remain`;
      throw new DbnError('TRUNCATED', this.offset, detail);
    }
  }
}
