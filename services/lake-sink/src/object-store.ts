// Where lake objects land: S3 / MinIO, or a local DATA_ROOT. `put` resolves only once the object is durable
// (S3: the PUT answered 200; local: file and directory fsynced after an atomic rename), because the sink commits
// consumer offsets right after it.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@snap/core';
import { readSecret } from '@snap/platform';
import { isNetworkError } from './retry';

export interface ObjectStore {
  /** Human-readable target, for logs: `s3://bucket` or a directory. */
  readonly where: string;
  /** Makes sure the target exists (bucket / directory). */
  prepare(): Promise<void>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Is this error of `put`/`prepare` worth retrying (the store is down or restarting), or final? */
  transient(e: unknown): boolean;
  close(): void;
}

/** The error a store wrapped (ObjectStoreError keeps it as its cause). */
const causeOf = (e: unknown): unknown => (e instanceof ObjectStoreError && e.cause !== undefined ? e.cause : e);

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
  /** A full or busy disk may clear; anything else (permissions, a key escaping the root) will not. */
  transient(e: unknown): boolean {
    const code = (causeOf(e) as { code?: string }).code;
    return code === 'ENOSPC' || code === 'EAGAIN' || code === 'EBUSY' || code === 'EIO';
  }
  close(): void {}
}

export function s3ClientFor(cfg: Pick<Config, 's3'>): S3Client {
  return new S3Client({
    // One SDK-level retry for a dropped connection; outages are waited out by the sink's own backoff (retry.ts), so
    // one attempt here stays short and bounded.
    maxAttempts: 2,
    endpoint: cfg.s3.endpoint,
    region: cfg.s3.region,
    // MinIO and most S3-compatible stores serve buckets by path, not by virtual host.
    forcePathStyle: true,
    // s3.credentials=sdk: the SDK's default chain (AWS_* env, web identity / IRSA, container or instance profile).
    ...(cfg.s3.credentials === 'sdk'
      ? {}
      : { credentials: { accessKeyId: cfg.s3.access_key_id, secretAccessKey: readSecret(cfg.s3.secret_access_key_file ? undefined : cfg.s3.secret_access_key, cfg.s3.secret_access_key_file, 's3.secret_access_key')! } }),
  });
}

/** S3 error names that mean "try again": throttling, the server starting up or briefly failing. */
const S3_TRANSIENT_NAMES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeTooSkewed', 'XMinioServerNotInitialized', 'XMinioStorageFull', 'OperationAborted', 'NoSuchBucket']);

export class S3ObjectStore implements ObjectStore {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** Bound on one PUT attempt (a hung connection to a restarting server is aborted after this). */
    readonly attemptTimeoutMs = 30_000,
  ) {}
  /**
   * Network errors, timeouts, 5xx, 408 and 429 are transient. A missing bucket is too: a restarted store that lost
   * it gets it back from put() (below). Other 4xx (credentials, policy) are final.
   */
  transient(e: unknown): boolean {
    const c = causeOf(e) as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (isNetworkError(c)) return true;
    if (S3_TRANSIENT_NAMES.has(c.name ?? '') || S3_TRANSIENT_NAMES.has(c.Code ?? '')) return true;
    const status = c.$metadata?.httpStatusCode;
    if (status === undefined) return true; // no HTTP answer at all: the connection failed
    return status >= 500 || status === 408 || status === 429;
  }
  get where(): string {
    return `s3://${this.bucket}`;
  }
  async prepare(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(this.attemptTimeoutMs) });
      return;
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && (e as Error).name !== 'NotFound') throw new ObjectStoreError(`bucket ${this.bucket}: ${(e as Error).message}`, '', { cause: e });
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(this.attemptTimeoutMs) });
    } catch (e) {
      // Another sink instance may have created it meanwhile.
      const name = (e as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw new ObjectStoreError(`cannot create bucket ${this.bucket}: ${(e as Error).message}`, '', { cause: e });
    }
  }
  async put(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: 'application/vnd.apache.parquet' }), {
        abortSignal: AbortSignal.timeout(this.attemptTimeoutMs),
      });
    } catch (e) {
      // A store restarted without its data: recreate the bucket; the caller's retry then writes the object.
      if ((e as Error).name === 'NoSuchBucket') await this.prepare().catch(() => undefined);
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
