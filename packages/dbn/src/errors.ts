// Typed failures of the DBN codec. Every decode failure names the byte offset where the bad bytes start so an
// operator can inspect the file (`xxd -s OFFSET`), and the decoder only throws after yielding every good record
// before that offset (DESIGN: "bad input gets a clear error and loses nothing").

export type DbnErrorCode =
  | 'BAD_HEADER' // not "DBN" and not a zstd frame
  | 'UNSUPPORTED_VERSION' // DBN version outside 1..3
  | 'BAD_METADATA' // metadata header fields inconsistent or cut short
  | 'TRUNCATED' // stream ended inside the metadata or a record
  | 'BAD_RECORD' // record header impossible (length < header) or shorter than its rtype's layout
  | 'ZSTD' // the zstd layer failed (corrupt or truncated compressed data)
  | 'ENCODE'; // the encoder was given a value that cannot be written

export class DbnError extends Error {
  override readonly name = 'DbnError';
  constructor(
    readonly code: DbnErrorCode,
    /** Byte offset in the DBN stream (after decompression when `compressed`), or in the compressed file for ZSTD errors. */
    readonly offset: number,
    readonly detail: string,
    readonly opts: { path?: string; compressed?: boolean } = {},
  ) {
    super(
      `${code} at byte offset ${offset}${opts.compressed && code !== 'ZSTD' ? ' of the decompressed DBN stream' : ''}` +
        `${opts.path ? ` in ${opts.path}` : ''}: ${detail}`,
    );
  }

  /** Same error re-labelled with the file it came from (the byte-level parser does not know paths). */
  withSource(path: string | undefined, compressed: boolean): DbnError {
    return new DbnError(this.code, this.offset, this.detail, { path: path ?? this.opts.path, compressed });
  }
}
