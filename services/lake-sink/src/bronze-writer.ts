// Bronze from the embedded run (`demo`, `run`): the input events written as the lake sink would have written them had
// they gone through Kafka — one stream per (input topic, partition of the key), data records plus heartbeats fanned
// out into every input stream (as the feeds send them), cut into the same offset windows, the same object keys and
// bytes (objects.ts), and a run manifest under _meta/ (manifest.ts). The "offset" of a record is its position in its
// stream. So `replay --from-lake` reads an embedded run's Bronze exactly like a Kafka session's.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DATA_INPUT_SCHEMAS, type Config, type DataInputSchema, type InputEvent } from '@snap/core';
import { atomicWriteFile, partitionForKey, topicName, type Logger } from '@snap/platform';
import { datasetFor, type LakeDataset } from './datasets';
import { buildManifest, configHash, encodeManifest, manifestObject, runManifestKey, schemaSnapshots, stableJson, checkRunId, tsOrderedByDatasetKey, type LakeManifest, type ManifestInput, type ManifestObject } from './manifest';
import { encodeLakeObject, planWindowObjects, type LakeRecord } from './objects';
import type { WindowRows } from './windows';

export interface EmbeddedBronzeOptions {
  cfg: Config;
  /** Lake root (DATA_ROOT): Bronze lands beside the embedded run's Gold. */
  root: string;
  /** Prepended to every key ('' beside Gold). */
  keyPrefix?: string;
  /** `demo` or `run`: recorded in the manifest. */
  command: string;
  /** What the run read (recorded in the manifest; with the config hash it also makes the default run id). */
  inputs: ManifestInput[];
  /** Default: `<command>-<sha256(inputs, config hash)[:12]>`, so the same run twice writes the same manifest. */
  runId?: string;
  logger?: Logger;
}

export interface EmbeddedBronzeResult {
  run_id: string;
  manifest: string;
  objects: number;
  rows: number;
  bytes: number;
  /** Records whose value Bronze cannot hold (e.g. a condition code beyond int16): counted and logged, not written. */
  unmapped: number;
}

interface Stream {
  topic: string;
  partition: number;
  next: bigint;
  window: WindowRows<LakeRecord>;
}

const isWildcard = (ev: InputEvent) => ev.schema === 'heartbeat.v1' && (ev.key === '' || ev.key === '*');

export class EmbeddedBronzeWriter {
  readonly runId: string;
  private readonly cfg: Config;
  private readonly keyPrefix: string;
  private readonly windowSize: bigint;
  private readonly streams = new Map<string, Stream>();
  private readonly datasets = new Map<string, LakeDataset>();
  private readonly objects: ManifestObject[] = [];
  private readonly hash: string;
  private rows = 0;
  private bytes = 0;
  private unmapped = 0;
  private closed: EmbeddedBronzeResult | null = null;

  constructor(private readonly opts: EmbeddedBronzeOptions) {
    this.cfg = opts.cfg;
    this.keyPrefix = opts.keyPrefix ?? '';
    this.windowSize = BigInt(opts.cfg.lake.flush_rows);
    this.hash = configHash(opts.cfg);
    this.runId = checkRunId(opts.runId ?? `${opts.command}-${createHash('sha256').update(stableJson({ inputs: opts.inputs, config_hash: this.hash })).digest('hex').slice(0, 12)}`);
  }

  /** The source, unchanged, with every event recorded on the way (sync sources stay sync). */
  tap(source: Iterable<InputEvent>): Iterable<InputEvent>;
  tap(source: AsyncIterable<InputEvent>): AsyncIterable<InputEvent>;
  tap(source: Iterable<InputEvent> | AsyncIterable<InputEvent>): Iterable<InputEvent> | AsyncIterable<InputEvent>;
  tap(source: Iterable<InputEvent> | AsyncIterable<InputEvent>): Iterable<InputEvent> | AsyncIterable<InputEvent> {
    if (Symbol.iterator in source) {
      const self = this;
      return (function* () {
        for (const ev of source as Iterable<InputEvent>) {
          self.add(ev);
          yield ev;
        }
      })();
    }
    const self = this;
    return (async function* () {
      for await (const ev of source as AsyncIterable<InputEvent>) {
        self.add(ev);
        yield ev;
      }
    })();
  }

  /** Partitions a record lands on: its key's; a wildcard heartbeat goes to every configured underlying's. */
  private partitionsOf(ev: InputEvent): number[] {
    const n = this.cfg.kafka.partitions;
    if (isWildcard(ev)) return [...new Set(this.cfg.underlyings.map((u) => partitionForKey(u, n)))].sort((a, b) => a - b);
    return [partitionForKey(ev.key, n)];
  }

  /** Records one input event: a data record into its stream, a heartbeat into every input stream. */
  add(ev: InputEvent): void {
    if (this.closed) throw new Error('EmbeddedBronzeWriter: add after close');
    const schemas: readonly DataInputSchema[] = ev.schema === 'heartbeat.v1' ? DATA_INPUT_SCHEMAS : [ev.schema];
    for (const s of schemas) for (const p of this.partitionsOf(ev)) this.append(s, p, ev);
  }

  private dataset(schema: string, stream: DataInputSchema): LakeDataset {
    const k = `${schema}|${stream}`;
    let d = this.datasets.get(k);
    if (!d) {
      d = datasetFor(schema as DataInputSchema, stream, ['bronze'])!;
      this.datasets.set(k, d);
    }
    return d;
  }

  private append(s: DataInputSchema, partition: number, ev: InputEvent): void {
    const k = `${s}|${partition}`;
    let st = this.streams.get(k);
    if (!st) {
      st = { topic: topicName(this.cfg, s), partition, next: 0n, window: { start: 0n, end: this.windowSize, records: [], complete: true } };
      this.streams.set(k, st);
    }
    const offset = st.next++;
    const dataset = this.dataset(ev.schema, s);
    try {
      // The event itself, not toRecord(ev): Bronze rows read named columns only, so `schema` (vs the wire's
      // schema_name) is never written, and the per-event copy is saved.
      st.window.records.push({ offset, row: { dataset, row: dataset.toRow(ev) } });
    } catch (e) {
      // Like the lake sink: the record keeps its offset (the log has it), the lake does not.
      this.unmapped++;
      this.opts.logger?.error('record not written to Bronze', { schema: ev.schema, key: ev.key, event_id: ev.event_id, error: e as Error });
    }
    if (st.next >= st.window.end) {
      this.flush(st);
      st.window = { start: st.window.end, end: st.window.end + this.windowSize, records: [], complete: true };
    }
  }

  private flush(st: Stream): void {
    const w = st.window;
    if (!w.records.length) return;
    const planned = planWindowObjects(this.keyPrefix, st.topic, st.partition, w);
    const ordered = tsOrderedByDatasetKey(w.records);
    this.rows += w.records.length;
    // Each object's rows (events) are let go once it is written, not with the last: full collections run during an
    // encode (the first writeParquet of a process runs ten or so), each marking whatever is still held (at the close of
    // a run, every window).
    w.records = [];
    for (const o of planned) {
      const bytes = encodeLakeObject(o, st.topic, st.partition, w.start);
      atomicWriteFile(join(this.opts.root, o.key), bytes);
      this.objects.push(manifestObject(o, this.keyPrefix, st.topic, st.partition, bytes, ordered(o)));
      this.bytes += bytes.byteLength;
      o.rows = [];
    }
  }

  /** Writes the open windows, the schema snapshots and the run manifest. Idempotent. */
  close(): EmbeddedBronzeResult {
    if (this.closed) return this.closed;
    for (const st of [...this.streams.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))) this.flush(st);
    for (const [key, bytes] of schemaSnapshots()) atomicWriteFile(join(this.opts.root, this.keyPrefix + key), bytes);
    const manifest: LakeManifest = buildManifest({ kind: 'embedded-run', run_id: this.runId, config_hash: this.hash, command: this.opts.command, inputs: this.opts.inputs, objects: this.objects });
    const key = runManifestKey(this.keyPrefix, this.runId);
    atomicWriteFile(join(this.opts.root, key), encodeManifest(manifest));
    this.closed = { run_id: this.runId, manifest: key, objects: this.objects.length, rows: this.rows, bytes: this.bytes, unmapped: this.unmapped };
    this.opts.logger?.info('embedded Bronze written', { ...this.closed, root: this.opts.root });
    return this.closed;
  }
}
