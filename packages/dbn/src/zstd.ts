// Streaming zstd decompression for the DBN decoder, pull-style: push() compressed bytes, read() decompressed pieces.
//
// Two engines behind one interface:
// - Frames that declare their decompressed size (up to MAX_FRAME_BYTES) are cut out of the stream by walking the
//   frame and block headers (RFC 8878 §3.1) and decompressed in one call by the reference C zstd compiled to WASM
//   (@bokuweb/zstd-wasm, already the encoder's compressor): about 3-4× fzstd's speed. DbnWriter writes such frames
//   (one per ~1 MiB of DBN), and so does any one-shot compressor.
// - Anything else — a frame without a declared size (Databento's own files are one streamed frame), one larger than
//   the bound, a dictionary frame, a truncated or corrupt one — goes to fzstd, streaming in 16 KiB slices, from that
//   frame on. fzstd stays the reference for errors: when the WASM call rejects a frame, the same bytes are replayed
//   through fzstd, which emits the blocks before the damage and then throws, exactly as before.
// Memory stays bounded: at most one compressed frame plus its declared output (≤ MAX_FRAME_BYTES) at a time.
import { Decompress } from 'fzstd';
import { dirname, join } from 'node:path';

/** Largest declared frame size decompressed in one WASM call; larger frames stream through fzstd. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const FZSTD_SLICE = 16 * 1024;

type WasmZstdLib = typeof import('@bokuweb/zstd-wasm');
type WasmZstd = Pick<WasmZstdLib, 'decompress'>;
let libReady: Promise<WasmZstdLib> | undefined;
let wasmReady: Promise<WasmZstd | undefined> | undefined;

/**
 * The WASM zstd library, initialised once per process for the encoder and the decoder alike: a second init() would
 * re-instantiate the module under the first user's feet (its heap replaced mid-way).
 */
export function wasmZstdLib(): Promise<WasmZstdLib> {
  libReady ??= (async () => {
    const lib = await import('@bokuweb/zstd-wasm');
    await lib.init();
    return lib;
  })();
  return libReady;
}

/** The WASM zstd for decoding, or undefined if it cannot be loaded (fzstd then does everything). */
export function loadWasmZstd(): Promise<WasmZstd | undefined> {
  wasmReady ??= wasmZstdLib().then(
    (lib) => heapDecompressor() ?? lib,
    () => undefined,
  );
  return wasmReady;
}

/** The parts of the library's emscripten module that ZSTD_decompress needs. */
interface ZstdModule {
  _malloc(n: number): number;
  _free(p: number): void;
  _ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  _ZSTD_isError(code: number): number;
  HEAPU8: Uint8Array;
}

/**
 * ZSTD_decompress over input and output regions of the WASM heap that are allocated once and reused, returning a
 * VIEW of the output in the heap: the library's decompress() mallocs and frees both per frame and copies the output
 * out with slice() (a quarter of the zstd decode loop's time, profiled), and the parser copies it once more anyway.
 * The view is valid until the next read() of any ZstdStream (every caller copies it at once). Undefined when the
 * module is not where this library version keeps it: the library's own decompress() is used then.
 */
function heapDecompressor(): WasmZstd | undefined {
  let M: ZstdModule;
  try {
    M = require(join(dirname(require.resolve('@bokuweb/zstd-wasm')), 'module.js')).Module as ZstdModule;
    if (typeof M._ZSTD_decompress !== 'function' || typeof M._malloc !== 'function' || !(M.HEAPU8 instanceof Uint8Array)) return undefined;
  } catch {
    return undefined;
  }
  let src = 0;
  let srcCap = 0;
  let dst = 0;
  let dstCap = 0;
  const decompress = (buf: Uint8Array, opts?: { defaultHeapSize?: number }): Uint8Array => {
    const size = opts?.defaultHeapSize ?? 1 << 20;
    if (buf.length > srcCap) {
      if (src) M._free(src);
      srcCap = Math.max(buf.length, srcCap * 2);
      src = M._malloc(srcCap);
    }
    if (size > dstCap) {
      if (dst) M._free(dst);
      dstCap = Math.max(size, dstCap * 2);
      dst = M._malloc(dstCap);
    }
    if (!src || !dst) throw new Error('zstd: out of WASM memory');
    // HEAPU8 is replaced when the heap grows: read it after the mallocs.
    M.HEAPU8.set(buf, src);
    const n = M._ZSTD_decompress(dst, size, src, buf.length);
    if (M._ZSTD_isError(n)) throw new Error(`zstd: decompression failed (code ${n})`);
    return new Uint8Array(M.HEAPU8.buffer, dst, n);
  };
  return { decompress };
}

/** Error from the zstd layer with the compressed byte range it was found in. */
export class ZstdStreamError extends Error {
  constructor(
    message: string,
    readonly from: number,
    readonly to: number,
  ) {
    super(message);
  }
}

interface FrameInfo {
  /** Total compressed bytes of the frame (header, blocks, checksum), or -1 if not all present yet. */
  length: number;
  /** Declared decompressed size, or -1 if the frame does not declare it. */
  contentSize: number;
  /** Skippable frame: no output. */
  skippable: boolean;
  dictionary: boolean;
}

export class ZstdStream {
  private pending = new Uint8Array(256 * 1024);
  private pstart = 0;
  private pend = 0;
  /** Absolute compressed offset of pending[0]. */
  private pbase = 0;
  private ended = false;
  private fz: Decompress | undefined;
  private fzOut: Uint8Array[] = [];
  private fzDone = false;

  constructor(private readonly wasm: WasmZstd | undefined) {}

  /** Absolute offset of the next compressed byte not yet handed to an engine. */
  get consumed(): number {
    return this.pbase + this.pstart;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.pend + chunk.length > this.pending.length) {
      const live = this.pend - this.pstart;
      if (live + chunk.length > this.pending.length) {
        const grown = new Uint8Array(Math.max(this.pending.length * 2, live + chunk.length));
        grown.set(this.pending.subarray(this.pstart, this.pend));
        this.pending = grown;
      } else {
        this.pending.copyWithin(0, this.pstart, this.pend);
      }
      this.pbase += this.pstart;
      this.pend = live;
      this.pstart = 0;
    }
    this.pending.set(chunk, this.pend);
    this.pend += chunk.length;
  }

  /** No more input: read() then drains what is left and throws if the stream stops inside a frame. */
  end(): void {
    this.ended = true;
  }

  /**
   * The next piece of decompressed bytes, or null when more input is needed (or, after end(), when all is done).
   * The piece is only valid until the next read() (of any ZstdStream: WASM pieces are views of the shared heap). Throws ZstdStreamError on corrupt or truncated data.
   */
  read(): Uint8Array | null {
    for (;;) {
      if (this.fz) return this.readFzstd();
      const avail = this.pend - this.pstart;
      if (avail === 0) return null;
      const info = this.wasm ? frameInfo(this.pending, this.pstart, this.pend) : undefined;
      if (!info || info.dictionary || (!info.skippable && (info.contentSize < 0 || info.contentSize > MAX_FRAME_BYTES))) {
        this.switchToFzstd();
        continue;
      }
      if (info.length < 0) {
        // Frame not complete yet; at the end of input it never will be: let fzstd report it as it always has.
        if (!this.ended) return null;
        this.switchToFzstd();
        continue;
      }
      const from = this.pstart;
      this.pstart += info.length;
      if (info.skippable || info.contentSize === 0) continue;
      const frame = this.pending.subarray(from, from + info.length);
      let out: Uint8Array | undefined;
      try {
        out = this.wasm!.decompress(frame, { defaultHeapSize: info.contentSize });
      } catch {
        out = undefined;
      }
      if (out && out.length === info.contentSize) return out;
      // Rejected by the WASM engine: replay from this frame through fzstd for its partial output and its error.
      this.pstart = from;
      this.switchToFzstd();
    }
  }

  private switchToFzstd(): void {
    // fzstd may reuse its output memory between callbacks, so each piece is copied before it is queued.
    this.fz = new Decompress((data) => {
      this.fzOut.push(data.slice());
    });
  }

  private readFzstd(): Uint8Array | null {
    for (;;) {
      const queued = this.fzOut.shift();
      if (queued) return queued;
      if (this.deferred) {
        const e = this.deferred;
        this.deferred = undefined;
        throw e;
      }
      if (this.fzDone) return null;
      const avail = this.pend - this.pstart;
      if (avail === 0 && !this.ended) return null;
      // Small slices keep the decompressed backlog small even at high ratios.
      const n = Math.min(avail, FZSTD_SLICE);
      const slice = this.pending.subarray(this.pstart, this.pstart + n);
      const last = this.ended && n === avail;
      const from = this.consumed;
      this.pstart += n;
      try {
        this.fz!.push(slice, last);
      } catch (e) {
        // Blocks decompressed before the failure are still delivered first, then the error.
        this.fzDone = true;
        this.deferred = new ZstdStreamError((e as Error).message, from, this.consumed);
        continue;
      }
      if (last) this.fzDone = true;
    }
  }

  private deferred: ZstdStreamError | undefined;
}

const FCS_BYTES = [0, 2, 4, 8];
const DID_BYTES = [0, 1, 2, 4];

/** Reads the frame at `p` (header fields and, if all its blocks are present, its total length). */
function frameInfo(buf: Uint8Array, p: number, end: number): FrameInfo | undefined {
  if (end - p < 8) return end - p < 4 || isZstdMagic(buf, p) || isSkippable(buf, p) ? { length: -1, contentSize: 0, skippable: false, dictionary: false } : undefined;
  if (isSkippable(buf, p)) {
    const size = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
    return { length: end - p >= 8 + size ? 8 + size : -1, contentSize: 0, skippable: true, dictionary: false };
  }
  if (!isZstdMagic(buf, p)) return undefined;
  const fhd = buf[p + 4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const didFlag = fhd & 3;
  if (fhd & 0x08) return undefined; // reserved bit: let fzstd report it
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : FCS_BYTES[fcsFlag]!;
  let q = p + 5 + (single ? 0 : 1);
  const dictionary = didFlag !== 0;
  q += DID_BYTES[didFlag]!;
  if (q + fcsBytes > end) return { length: -1, contentSize: 0, skippable: false, dictionary };
  let contentSize = -1;
  if (fcsBytes === 1) contentSize = buf[q]!;
  else if (fcsBytes === 2) contentSize = (buf[q]! | (buf[q + 1]! << 8)) + 256;
  else if (fcsBytes === 4) contentSize = (buf[q]! | (buf[q + 1]! << 8) | (buf[q + 2]! << 16) | (buf[q + 3]! << 24)) >>> 0;
  else if (fcsBytes === 8) {
    const lo = (buf[q]! | (buf[q + 1]! << 8) | (buf[q + 2]! << 16) | (buf[q + 3]! << 24)) >>> 0;
    const hi = (buf[q + 4]! | (buf[q + 5]! << 8) | (buf[q + 6]! << 16) | (buf[q + 7]! << 24)) >>> 0;
    contentSize = hi > 0x1fffff ? Number.MAX_SAFE_INTEGER : hi * 4294967296 + lo;
  }
  q += fcsBytes;
  if (contentSize < 0 || contentSize > MAX_FRAME_BYTES || dictionary) return { length: -1, contentSize, skippable: false, dictionary };
  // Walk the blocks: 3-byte little-endian headers (last flag, type, size); RLE blocks carry one byte.
  for (;;) {
    if (q + 3 > end) return { length: -1, contentSize, skippable: false, dictionary };
    const h = buf[q]! | (buf[q + 1]! << 8) | (buf[q + 2]! << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) return undefined; // reserved block type: corrupt, fzstd reports it
    q += 3 + (type === 1 ? 1 : size);
    if (q > end) return { length: -1, contentSize, skippable: false, dictionary };
    if (last) break;
  }
  q += checksum ? 4 : 0;
  if (q > end) return { length: -1, contentSize, skippable: false, dictionary };
  return { length: q - p, contentSize, skippable: false, dictionary };
}

function isZstdMagic(buf: Uint8Array, p: number): boolean {
  return buf[p] === 0x28 && buf[p + 1] === 0xb5 && buf[p + 2] === 0x2f && buf[p + 3] === 0xfd;
}

function isSkippable(buf: Uint8Array, p: number): boolean {
  return (buf[p]! & 0xf0) === 0x50 && buf[p + 1] === 0x2a && buf[p + 2] === 0x4d && buf[p + 3] === 0x18;
}
