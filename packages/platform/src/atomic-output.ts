// Output files that appear whole or not at all: a writer writes to `<path>.partial-<pid>` beside the target, then
// `commit()` renames it into place (atomic on one filesystem) and `abort()` removes it. A failed run therefore never
// leaves a half-written file that looks like a result, and a previous good file stays until the new one is complete.
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class AtomicOutput {
  /** Where to write meanwhile. */
  readonly tempPath: string;
  private settled = false;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tempPath = join(dirname(path), `.${basename(path)}.partial-${process.pid}`);
  }

  /** Moves the finished temp file to `path`. */
  commit(): void {
    if (this.settled) return;
    this.settled = true;
    renameSync(this.tempPath, this.path);
  }

  /** Deletes the temp file (nothing is left under `path` from this run). */
  abort(): void {
    if (this.settled) return;
    this.settled = true;
    rmSync(this.tempPath, { force: true });
  }
}
