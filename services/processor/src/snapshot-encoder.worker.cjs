'use strict';
// @ts-check
// The worker thread behind snapshot.ts `encodeSnapshotOffThread`: the live state snapshot's JSON text and its gzip,
// off the processor's event loop. Plain CommonJS on purpose: a worker thread starts a fresh isolate without the
// parent's .ts loader (the compiled build's require hook, tsx or jest's transform), and this file needs none of the
// workspaces' modules, so it loads the same way under every one of them.
//
// Protocol (one message at a time, answered in order): in `{ id, snapshot, level }`, where every long array of
// numbers of the snapshot arrives as a Float64Array (see `toTransferable` in snapshot.ts); out `{ id, bytes }` (the
// gzip, its buffer transferred) or `{ id, error }`.
const { parentPort } = require('node:worker_threads');
const { gzipSync } = require('node:zlib');

/**
 * The snapshot as the parent captured it: each Float64Array back to the plain array of numbers it was copied from.
 * The captured state is JSON-shaped data without typed arrays, so every Float64Array here is one of those copies; a
 * float64 holds any JS number exactly, so JSON.stringify writes the same text for it.
 * @param {unknown} x
 * @returns {unknown}
 */
function fromTransferable(x) {
  if (x instanceof Float64Array) return Array.from(x);
  if (x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) x[i] = fromTransferable(x[i]);
    return x;
  }
  const o = /** @type {Record<string, unknown>} */ (x);
  for (const k of Object.keys(o)) o[k] = fromTransferable(o[k]);
  return o;
}

if (!parentPort) throw new Error('snapshot-encoder.worker.cjs runs only as a worker thread (snapshot.ts starts it)');
const port = parentPort;
port.on('message', (/** @type {{ id: number, snapshot: unknown, level: number }} */ msg) => {
  try {
    const gz = gzipSync(Buffer.from(JSON.stringify(fromTransferable(msg.snapshot)), 'utf8'), { level: msg.level });
    // A copy that owns its whole buffer: zlib's result may be a view into a larger one, which must not be handed over.
    const bytes = new Uint8Array(gz);
    port.postMessage({ id: msg.id, bytes }, [bytes.buffer]);
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
