// Where lake objects land: S3 / MinIO, or a local DATA_ROOT. `put` resolves only once the object is durable
// (S3: the PUT answered 200; local: file and directory fsynced after an atomic rename), because the sink commits
// consumer offsets right after it.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@snap/core';

export interface ObjectStore {
  /** Human-readable target, for logs: `s3://bucket` or a directory. */
  readonly where: string;
  /** Makes sure the target exists (bucket / directory). */
  prepare(): Promise<void>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  close(): void;
}

export class ObjectStoreError extends Error {
  constructor(
    message: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}

export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }
  get where(): string {
    return this.root;
  }
  async prepare(): Promise<void> {
    mkdirSync(this.root, { recursive: true });
  }
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new ObjectStoreError(`object key ${JSON.stringify(key)} escapes the data root ${this.root}`, key);
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${path.slice(dir.length + 1)}.tmp-${process.pid}`);
    try {
      const fd = openSync(tmp, 'w');
      try {
        let off = 0;
        while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      // The rename is durable only once the directory entry is.
      const dfd = openSync(dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new ObjectStoreError(`cannot write ${path}: ${(e as Error).message}`, key, { cause: e });
    }
  }
  close(): void {}
}

export function s3ClientFor(cfg: Pick<Config, 's3'>): S3Client {
  return new S3Client({
    endpoint: cfg.s3.endpoint,
    region: cfg.s3.region,
    // MinIO and most S3-compatible stores serve buckets by path, not by virtual host.
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.s3.access_key_id, secretAccessKey: cfg.s3.secret_access_key },
  });
}

export class S3ObjectStore implements ObjectStore {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}
  get where(): string {
    return `s3://${this.bucket}`;
  }
  async prepare(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && (e as Error).name !== 'NotFound') throw new ObjectStoreError(`bucket ${this.bucket}: ${(e as Error).message}`, '', { cause: e });
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      // Another sink instance may have created it meanwhile.
      const name = (e as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw new ObjectStoreError(`cannot create bucket ${this.bucket}: ${(e as Error).message}`, '', { cause: e });
    }
  }
  async put(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: 'application/vnd.apache.parquet' }));
    } catch (e) {
      throw new ObjectStoreError(`PUT s3://${this.bucket}/${key} failed: ${(e as Error).message}`, key, { cause: e });
    }
  }
  close(): void {
    this.client.destroy();
  }
}

export function objectStoreFor(cfg: Pick<Config, 's3' | 'lake'>, target: 'local' | 's3' = cfg.lake.sink_target): ObjectStore {
  return target === 's3' ? new S3ObjectStore(s3ClientFor(cfg), cfg.s3.bucket) : new LocalObjectStore(cfg.lake.data_root);
}
