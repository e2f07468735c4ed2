// The local stack's servers themselves (scripts/stack up): each check talks to the real server over a real
// connection, with connection settings from loadConfig() so env overrides (KAFKA_BROKERS, S3_ENDPOINT, REDIS_URL,
// SCHEMA_REGISTRY_URL, or `eval "$(scripts/stack env)"`) point the tests at a stack on other ports.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '@snap/platform';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const run = randomBytes(4).toString('hex');
const cfg = loadConfig();

describe('MinIO (S3 API)', () => {
  const s3 = new S3Client({
    endpoint: cfg.s3.endpoint,
    region: cfg.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.s3.access_key_id, secretAccessKey: cfg.s3.secret_access_key },
  });
  const bucket = `stack-it-${run}`;
  const key = 'gold/underlying=SPY/date=2026-01-02/part-0.bin';

  afterAll(async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  });

  it('stores an object under a path-style bucket and reads back the same bytes', async () => {
    const body = randomBytes(64 * 1024 + 17);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/octet-stream' }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.equals(body)).toBe(true);
    expect(got.ContentLength).toBe(body.length);
  });

  it('answers a missing key with NoSuchKey', async () => {
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: `absent-${run}` }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});

describe('Redis', () => {
  // No retry strategy: with no server the test fails at once instead of reconnecting until the jest timeout.
  const redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  const key = `stack-it:${run}:features`;

  beforeAll(() => redis.connect());
  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('reads back what it wrote, and runs Lua (the compare-and-set on event time needs EVAL)', async () => {
    await redis.hset(key, { score: '73.5', ts_event_ns: '1700000000000000000' });
    expect(await redis.hgetall(key)).toEqual({ score: '73.5', ts_event_ns: '1700000000000000000' });
    // Write only when the new event time is later: an older replayed value must not win.
    const cas = "if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'ts_event_ns') or '-1') then redis.call('HSET', KEYS[1], 'ts_event_ns', ARGV[1], 'score', ARGV[2]) return 1 end return 0";
    expect(await redis.eval(cas, 1, key, '1699999999000000000', '10')).toBe(0);
    expect(await redis.eval(cas, 1, key, '1700000001000000000', '91')).toBe(1);
    expect(await redis.hget(key, 'score')).toBe('91');
  });
});

describe('schema registry (Confluent-compatible API at the base URL)', () => {
  const base = cfg.schema_registry.url.replace(/\/$/, '');
  const registry = new SchemaRegistry({ host: base });
  const subject = `stack-it-${run}-value`;
  const v1 = { type: 'record', name: 'LevelProbe', namespace: 'snap.stack_it', fields: [{ name: 'level', type: 'double' }] };
  // Adding a field WITH a default: new readers can still read old data, so BACKWARD accepts it.
  const v2 = { ...v1, fields: [...v1.fields, { name: 'side', type: 'string', default: 'N' }] };
  // Adding a field WITHOUT a default: new readers cannot read old data, so BACKWARD must refuse it.
  const v3 = { ...v2, fields: [...v2.fields, { name: 'runway', type: 'double' }] };
  const json = { 'content-type': 'application/vnd.schemaregistry.v1+json' };

  afterAll(async () => {
    await fetch(`${base}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
  });

  it('keeps a per-subject compatibility level and defaults to BACKWARD globally', async () => {
    const global = await fetch(`${base}/config`);
    expect(global.status).toBe(200);
    expect(await global.json()).toMatchObject({ compatibilityLevel: 'BACKWARD' });
    const put = await fetch(`${base}/config/${subject}`, { method: 'PUT', headers: json, body: JSON.stringify({ compatibility: 'BACKWARD' }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ compatibility: 'BACKWARD' });
    const got = await fetch(`${base}/config/${subject}`);
    expect(await got.json()).toMatchObject({ compatibilityLevel: 'BACKWARD' });
  });

  it('registers an Avro schema, serves it by id, and round-trips a record in the Confluent wire format', async () => {
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    expect(Number.isInteger(id)).toBe(true);
    const byId = await fetch(`${base}/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    expect(JSON.parse(((await byId.json()) as { schema: string }).schema)).toMatchObject({ name: 'LevelProbe' });
    const encoded = await registry.encode(id, { level: 512.5 });
    expect(encoded[0]).toBe(0); // magic byte
    expect(encoded.readInt32BE(1)).toBe(id);
    expect(await registry.decode(encoded)).toEqual({ level: 512.5 });
    // Registering the same schema again is idempotent: same id, no new version.
    const again = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    expect(again.id).toBe(id);
  });

  it('accepts a BACKWARD-compatible change and refuses an incompatible one with HTTP 409', async () => {
    const ok = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(ok.id);

    const refused = await fetch(`${base}/subjects/${subject}/versions`, { method: 'POST', headers: json, body: JSON.stringify({ schema: JSON.stringify(v3) }) });
    expect(refused.status).toBe(409);
    await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v3) }, { subject })).rejects.toMatchObject({ status: 409 });

    const versions = await fetch(`${base}/subjects/${subject}/versions`);
    expect(await versions.json()).toEqual([1, 2]);
    expect(await registry.getLatestSchemaId(subject)).toBe(ok.id);
  });
});

describe('Kafka (KRaft broker)', () => {
  const kafka = new Kafka({ clientId: `stack-it-${run}`, brokers: cfg.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = `stack-it-${run}.tx`;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('commits and aborts transactions; read_committed readers (kafkajs and Kafka own console consumer) see only committed records', async () => {
    const producer = kafka.producer({ transactionalId: `stack-it-${run}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'SPY', value: 'committed-1' }, { key: 'SPY', value: 'committed-2' }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'SPY', value: 'aborted-1' }] });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic, messages: [{ key: 'SPY', value: 'committed-3' }] });
    await last.commit();
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `stack-it-${run}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((done, fail) => {
      consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value!.toString()); if (seen.length === 3) done(); } }).catch(fail);
    });
    await consumer.disconnect();
    expect(seen).toEqual(['committed-1', 'committed-2', 'committed-3']);

    const { stdout } = await promisify(execFile)(
      'bash',
      [resolve(ROOT, 'scripts/kafka-cli'), 'kafka-console-consumer', '--bootstrap-server', cfg.kafka.brokers.join(','), '--topic', topic,
        '--from-beginning', '--isolation-level', 'read_committed', '--max-messages', '3', '--timeout-ms', '30000'],
      { cwd: ROOT },
    );
    expect(stdout.trim().split('\n')).toEqual(['committed-1', 'committed-2', 'committed-3']);
  });
});
