// The Databento live client against the fake gateway over real TCP sockets (issue 10 acceptance): every record of
// the DBN files arrives decoded exactly as `dbn dump --json` prints it; a dropped connection and a stalled one
// (heartbeat loss) are reopened and the output has no gap and no duplicate; a refused key ends in a typed error that
// names the gateway and never the key.
import { join } from 'node:path';
import {
  DatabentoAuthError,
  DatabentoLiveClient,
  FakeDatabentoGateway,
  LiveSymbology,
  RTYPE,
  currentRecordJson,
  dbnFrames,
  readDbn,
  recordToJson,
  type DbnRecord,
  type FakeGatewayFaults,
  type LiveClientOptions,
  type SymbolMappingMsg,
} from '@snap/dbn';
import { fixture } from '../../packages/dbn/src/test-fixtures';

const ROOT = join(__dirname, '..', '..');
const MBP10 = join(ROOT, 'dbn-data', 'glbx-mdp3-20260115.mbp-10.dbn.zst');
const TRADES = join(ROOT, 'dbn-data', 'glbx-mdp3-20260115.trades.dbn.zst');
// Databento's own sample (read where it lies: ../shared/dbn-fixtures or $DBN_FIXTURES, never copied in).
const FIXTURE_V1 = fixture('test_data.mbp-10.v1.dbn.zst');
const KEY = 'db-TESTKEYabcdefghijklmnopqrsABCDE';

jest.setTimeout(120_000);

/** What `dbn dump --json` prints for each record of a file (the same decode path and formatter as the command). */
async function dumpLines(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { parser } of dbnFrames(file)) for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) out.push(currentRecordJson(parser, b));
  return out;
}

/** A received record as dump would print it from the file (ts_out is the gateway's send time: not in the file). */
function asDumped(r: DbnRecord): string {
  const { ts_out: _ts, ...rest } = r;
  return JSON.stringify(recordToJson(rest as DbnRecord));
}

interface Run {
  records: DbnRecord[];
  client: DatabentoLiveClient;
  mappings: SymbolMappingMsg[];
  errors: number[];
}

/** Streams until the gateway says its replay is complete. */
async function collect(gw: FakeDatabentoGateway, opts: Partial<LiveClientOptions>): Promise<Run> {
  const client = new DatabentoLiveClient({
    apiKey: KEY,
    dataset: 'GLBX.MDP3',
    gateway: { host: gw.host, port: gw.port },
    subscriptions: [
      { schema: 'mbp-10', symbols: ['ES.c.0'] },
      { schema: 'trades', symbols: ['ES.c.0'] },
    ],
    reconnect: { initialMs: 20, maxMs: 200 },
    ...opts,
  });
  const run: Run = { records: [], client, mappings: [], errors: [] };
  client.on('replay_completed', () => client.stop());
  client.on('gateway_error', (e) => run.errors.push(e.code ?? -1));
  for await (const item of client.stream()) {
    if (item.type !== 'record') continue;
    if (item.record.kind === 'symbol_mapping') run.mappings.push(item.record);
    else if (item.record.kind !== 'system' && item.record.kind !== 'error') run.records.push(item.record);
  }
  return run;
}

const byRtype = (rs: DbnRecord[], rtype: number) => rs.filter((r) => r.rtype === rtype).map(asDumped);

let mbpLines: string[];
let tradeLines: string[];
/** The merged stream the gateway sends (ts_event order, the mbp-10 file first on ties). */
let merged: DbnRecord[];

beforeAll(async () => {
  mbpLines = await dumpLines(MBP10);
  tradeLines = await dumpLines(TRADES);
  const a = (await readDbn(MBP10)).records;
  const b = (await readDbn(TRADES)).records;
  merged = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) merged.push(j >= b.length || (i < a.length && a[i]!.ts_event <= b[j]!.ts_event) ? a[i++]! : b[j++]!);
});

async function withGateway<T>(faults: FakeGatewayFaults | undefined, body: (gw: FakeDatabentoGateway) => Promise<T>, files = [MBP10, TRADES]): Promise<T> {
  const gw = await FakeDatabentoGateway.start({ apiKey: KEY, files, faults });
  try {
    return await body(gw);
  } finally {
    await gw.close();
  }
}

/** A record count after which the next record has the same ts_event: a break there splits an instant. */
function cutInsideAnInstant(from: number): number {
  for (let n = from; n < merged.length - 1; n++) if (merged[n - 1]!.ts_event === merged[n]!.ts_event) return n;
  throw new Error('no two records share a ts_event');
}

test('every record arrives decoded exactly as dbn dump prints it, with in-stream symbol mappings', async () => {
  const run = await withGateway(undefined, (gw) => collect(gw, {}));
  expect(mbpLines.length).toBe(16_204);
  expect(tradeLines.length).toBe(3_130);
  expect(byRtype(run.records, RTYPE.MBP_10)).toEqual(mbpLines);
  expect(byRtype(run.records, RTYPE.MBP_0)).toEqual(tradeLines);
  expect(run.records.length).toBe(mbpLines.length + tradeLines.length);
  for (let i = 1; i < run.records.length; i++) expect(run.records[i]!.ts_event >= run.records[i - 1]!.ts_event).toBe(true);
  expect(run.mappings.map((m) => [m.stype_in_symbol, m.stype_out_symbol, m.instrument_id])).toEqual([['ES.c.0', 'ESH6', 42140878]]);
  expect(run.client.stats).toMatchObject({ connections: 1, reconnects: 0, duplicatesDropped: 0 });
});

test('a DBN v1 file (raw symbol ESH1) with ts_out: records equal dump, ts_out carried', async () => {
  const lines = await dumpLines(FIXTURE_V1);
  const run = await withGateway(undefined, (gw) => collect(gw, { subscriptions: [{ schema: 'mbp-10', symbols: ['ESH1'] }], tsOut: true }), [FIXTURE_V1]);
  expect(run.records.map(asDumped)).toEqual(lines);
  expect(run.records.every((r) => typeof r.ts_out === 'bigint' && r.ts_out > 0n)).toBe(true);
  expect(run.mappings[0]).toMatchObject({ stype_in_symbol: 'ESH1', stype_out_symbol: 'ESH1', instrument_id: 5482 });
});

test('a dropped connection mid-stream (inside an instant) reconnects from the last ts_event: no gap, no duplicate', async () => {
  const cut = cutInsideAnInstant(7000);
  const run = await withGateway({ disconnectAfter: cut }, async (gw) => {
    const r = await collect(gw, {});
    expect(gw.connectionCount).toBe(2);
    return r;
  });
  expect(byRtype(run.records, RTYPE.MBP_10)).toEqual(mbpLines);
  expect(byRtype(run.records, RTYPE.MBP_0)).toEqual(tradeLines);
  expect(run.client.stats.reconnects).toBe(1);
  // The replay restarted AT the last instant: what was already delivered at it was recognised and dropped.
  expect(run.client.stats.duplicatesDropped).toBeGreaterThan(0);
});

test('heartbeat loss (the gateway goes silent, socket open) is detected and the connection reopened, nothing lost', async () => {
  const run = await withGateway({ stallAfter: 4000 }, (gw) => collect(gw, { heartbeatIntervalS: 1, heartbeatTimeoutMs: 3000 }));
  // At least the injected stall (a loaded machine may add one: the gateway runs in this same process).
  expect(run.client.stats.heartbeatTimeouts).toBeGreaterThanOrEqual(1);
  expect(run.client.stats.connections).toBe(run.client.stats.heartbeatTimeouts + 1);
  expect(byRtype(run.records, RTYPE.MBP_10)).toEqual(mbpLines);
  expect(byRtype(run.records, RTYPE.MBP_0)).toEqual(tradeLines);
});

test('idle gateway heartbeats keep a healthy connection open (no reconnect)', async () => {
  await withGateway(undefined, async (gw) => {
    const client = new DatabentoLiveClient({
      apiKey: KEY,
      dataset: 'GLBX.MDP3',
      gateway: { host: gw.host, port: gw.port },
      subscriptions: [{ schema: 'trades', symbols: ['ES.c.0'] }],
      heartbeatIntervalS: 1,
      heartbeatTimeoutMs: 5000,
    });
    let heartbeats = 0;
    client.on('heartbeat', () => {
      if (++heartbeats === 3) client.stop();
    });
    for await (const _ of client.stream());
    expect(heartbeats).toBe(3);
    expect(client.stats).toMatchObject({ connections: 1, heartbeatTimeouts: 0 });
  });
});

test('a wrong key ends with DatabentoAuthError naming the gateway, never the key', async () => {
  const bad = 'db-WRONGkeyWRONGkeyWRONGkeyXYZ12';
  await withGateway(undefined, async (gw) => {
    const client = new DatabentoLiveClient({ apiKey: bad, dataset: 'GLBX.MDP3', gateway: { host: gw.host, port: gw.port }, subscriptions: [{ schema: 'trades', symbols: ['ES.c.0'] }] });
    const err = await (async () => {
      try {
        for await (const _ of client.stream());
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(DatabentoAuthError);
    expect(err!.message).toContain(gw.address);
    expect(err!.message).not.toContain(bad);
    expect(err!.message).not.toContain(bad.slice(-5));
    expect(JSON.stringify(err)).not.toContain(bad);
    expect(gw.connectionCount).toBe(1); // not retried
  });
});

test('a gateway that refuses every key (injected) also ends in DatabentoAuthError', async () => {
  await withGateway({ rejectAuth: true }, async (gw) => {
    await expect(collect(gw, {})).rejects.toThrow(new RegExp(`Databento authentication failed at gateway ${gw.address.replace(/\./g, '\\.')}`));
  });
});

test('slow start, an error record and a slow-reader warning are survived and surfaced', async () => {
  const warnings: string[] = [];
  const run = await withGateway({ slowStartMs: 800, errorAfter: 100, slowReaderAfter: 200 }, async (gw) => {
    const client = new DatabentoLiveClient({
      apiKey: KEY,
      dataset: 'GLBX.MDP3',
      gateway: { host: gw.host, port: gw.port },
      subscriptions: [{ schema: 'trades', symbols: ['ES.c.0'] }],
    });
    const out: Run = { records: [], client, mappings: [], errors: [] };
    client.on('replay_completed', () => client.stop());
    client.on('gateway_error', (e) => out.errors.push(e.code ?? -1));
    client.on('slow_reader', (w) => warnings.push(w.source));
    for await (const item of client.stream()) if (item.type === 'record' && item.record.kind === 'trade') out.records.push(item.record);
    return out;
  });
  expect(run.errors).toEqual([6]);
  expect(warnings).toEqual(['gateway']);
  expect(run.records.map(asDumped)).toEqual(tradeLines);
});

test('parent (ES.FUT) and continuous (ES.v.0) symbology resolve through in-stream mappings; intraday replay start', async () => {
  const start = merged[5000]!.ts_event;
  const run = await withGateway(undefined, (gw) =>
    collect(gw, {
      subscriptions: [
        { schema: 'mbp-10', symbols: ['ES.FUT'], start },
        { schema: 'trades', symbols: ['ES.v.0'], start },
      ],
    }),
  );
  const sym = new LiveSymbology();
  for (const m of run.mappings) sym.push(m);
  expect(run.mappings.map((m) => m.stype_in_symbol).sort()).toEqual(['ES.FUT', 'ES.v.0']);
  expect(sym.eventSymbol(42140878)).toBeDefined();
  expect(run.records[0]!.ts_event).toBe(start);
  expect(run.records.length).toBe(merged.filter((r) => r.ts_event >= start).length);
});

test('an unknown symbol gets a symbol-resolution error record and no data', async () => {
  const run = await withGateway(undefined, (gw) => collect(gw, { subscriptions: [{ schema: 'trades', symbols: ['NQ.c.0'] }] }));
  expect(run.errors).toEqual([4]);
  expect(run.records).toEqual([]);
});
