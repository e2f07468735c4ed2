// Reading and pruning the lake (the compaction's side of object-store.ts, which only writes): list, get and delete
// over the same two targets, a local DATA_ROOT or an S3/MinIO bucket, with the same keys.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@snap/core';
import { LocalObjectStore, ObjectStoreError, S3ObjectStore, s3ClientFor, type ObjectStore } from './object-store';

export interface ListedObject {
  key: string;
  bytes: number;
}

export interface LakeStore extends ObjectStore {
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ListedObject[]>;
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  delete(keys: readonly string[]): Promise<void>;
}

export class LocalLakeStore extends LocalObjectStore implements LakeStore {
  private path(key: string): string {
    const p = resolve(this.root, key);
    if (!p.startsWith(this.root + sep)) throw new ObjectStoreError(`object key ${JSON.stringify(key)} escapes the data root ${this.root}`, key);
    return p;
  }
  async list(prefix: string): Promise<ListedObject[]> {
    // Walk from the deepest directory the prefix names, then filter by the full prefix (it may end mid-name).
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? this.root : join(this.root, prefix.slice(0, slash));
    const out: ListedObject[] = [];
    const walk = (dir: string) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const n of names) {
        // Temp files of an atomic write in progress (object-store.ts) are not objects.
        if (n.startsWith('.') && n.includes('.tmp-')) continue;
        const p = join(dir, n);
        const st = statSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(p);
        else {
          const key = relative(this.root, p).split(sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, bytes: st.size });
        }
      }
    };
    walk(base);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  async get(key: string): Promise<Uint8Array | null> {
    const p = this.path(key);
    if (!existsSync(p)) return null;
    return new Uint8Array(readFileSync(p));
  }
  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) rmSync(this.path(k), { force: true });
  }
}

export class S3LakeStore extends S3ObjectStore implements LakeStore {
  constructor(client: S3Client, bucket: string) {
    super(client, bucket);
  }
  async list(prefix: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, bytes: Number(o.Size ?? 0) });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  async get(key: string): Promise<Uint8Array | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: AbortSignal.timeout(this.attemptTimeoutMs) });
      return await r.Body!.transformToByteArray();
    } catch (e) {
      if ((e as Error).name === 'NoSuchKey') return null;
      throw new ObjectStoreError(`GET s3://${this.bucket}/${key} failed: ${(e as Error).message}`, key, { cause: e });
    }
  }
  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const r = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }));
      const err = r.Errors?.[0];
      if (err) throw new ObjectStoreError(`DELETE s3://${this.bucket}/${err.Key} failed: ${err.Code} ${err.Message}`, err.Key ?? '');
    }
  }
}

export function lakeStoreFor(cfg: Pick<Config, 's3' | 'lake'>, target: 'local' | 's3' = cfg.lake.sink_target): LakeStore {
  return target === 's3' ? new S3LakeStore(s3ClientFor(cfg), cfg.s3.bucket) : new LocalLakeStore(cfg.lake.data_root);
}
