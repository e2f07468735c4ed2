import { RTYPE } from '../enums';
import type { SymbolMappingMsg, SystemMsg } from '../records';
import { isHeartbeat, isReplayCompleted } from './client';
import { frontContract } from './fake-gateway';
import { LineReader, SYMBOL_BATCH, authRequestLine, controlLine, cramResponse, gatewayFor, inferSType, parseControlLine, subscriptionLines } from './protocol';
import { LiveSymbology } from './symbology';

describe('Raw API control messages', () => {
  it('CRAM: sha256 hex of "challenge|key", then the key\'s last 5 characters (known answer, Python hashlib)', () => {
    expect(cramResponse('GmqLHTqUOzDHUa4OJOYkrDqeR3D8ihIi', 'db-89s9vCvwDDKPdUJ7Sqi4U8vadh8GW')).toBe('cf180401c12a00e98ca36de399d6fa266ccc863bbb5a400933237e8a7fa29371-dh8GW');
  });

  it('the auth line carries the CRAM reply, never the key itself', () => {
    const key = 'db-89s9vCvwDDKPdUJ7Sqi4U8vadh8GW';
    const line = authRequestLine('abc', key, { dataset: 'GLBX.MDP3', tsOut: true, heartbeatIntervalS: 10 });
    expect(line.endsWith('\n')).toBe(true);
    const f = parseControlLine(line);
    expect(f).toMatchObject({ auth: cramResponse('abc', key), dataset: 'GLBX.MDP3', encoding: 'dbn', compression: 'none', ts_out: '1', heartbeat_interval_s: '10' });
    expect(line).not.toContain(key);
  });

  it('parses gateway lines: greeting, challenge, auth responses', () => {
    expect(parseControlLine('lsg_version=0.6.1\n')).toEqual({ lsg_version: '0.6.1' });
    expect(parseControlLine('cram=xyz\n')).toEqual({ cram: 'xyz' });
    expect(parseControlLine('success=1|session_id=5\n')).toEqual({ success: '1', session_id: '5' });
    expect(parseControlLine('success=0|error=Authentication failed.\n')).toEqual({ success: '0', error: 'Authentication failed.' });
    expect(controlLine({ a: 1, b: undefined, c: 'x' })).toBe('a=1|c=x\n');
  });

  it('subscriptions: symbols batched by 500 with is_last on the last line; start and snapshot; not both', () => {
    const symbols = Array.from({ length: SYMBOL_BATCH + 3 }, (_, i) => `S${i}`);
    const lines = subscriptionLines({ schema: 'mbp-10', stypeIn: 'raw_symbol', symbols, start: 123n });
    expect(lines).toHaveLength(2);
    expect(parseControlLine(lines[0]!)).toMatchObject({ schema: 'mbp-10', stype_in: 'raw_symbol', is_last: '0', start: '123', snapshot: '0' });
    expect(parseControlLine(lines[1]!)).toMatchObject({ symbols: 'S500,S501,S502', is_last: '1' });
    expect(parseControlLine(subscriptionLines({ schema: 'trades', stypeIn: 'continuous', symbols: ['ES.c.0'], snapshot: true })[0]!)).toMatchObject({ snapshot: '1', is_last: '1' });
    expect(() => subscriptionLines({ schema: 'trades', stypeIn: 'continuous', symbols: ['ES.c.0'], snapshot: true, start: 1n })).toThrow(/snapshot cannot be combined/);
  });

  it('infers stype_in from the symbol form; gateway host per dataset', () => {
    expect(['ES.c.0', 'ES.v.0', 'ES.n.1', 'ES.FUT', 'ESH6', '42140878'].map(inferSType)).toEqual(['continuous', 'continuous', 'continuous', 'parent', 'raw_symbol', 'instrument_id']);
    expect(gatewayFor('GLBX.MDP3')).toEqual({ host: 'glbx-mdp3.lsg.databento.com', port: 13000 });
  });

  it('LineReader splits lines across chunks and keeps the DBN bytes after them', () => {
    const r = new LineReader();
    r.push(Buffer.from('success=1|sess'));
    expect(r.nextLine()).toBeNull();
    r.push(Buffer.from('ion_id=9\nDBN\x03'));
    expect(r.nextLine()).toBe('success=1|session_id=9');
    expect(r.nextLine()).toBeNull();
    expect(r.rest().toString('latin1')).toBe('DBN\x03');
  });
});

describe('system messages and symbology', () => {
  const sys = (msg: string, code?: number): SystemMsg => ({ kind: 'system', rtype: RTYPE.SYSTEM, publisher_id: 0, instrument_id: 0, ts_event: 0n, msg, ...(code === undefined ? {} : { code }) });
  it('heartbeats and replay completion by code (v2+) or by text (v1)', () => {
    expect(isHeartbeat(sys('anything', 0))).toBe(true);
    expect(isHeartbeat(sys('Heartbeat'))).toBe(true);
    expect(isHeartbeat(sys('Heartbeat', 2))).toBe(false);
    expect(isReplayCompleted(sys('x', 3))).toBe(true);
    expect(isReplayCompleted(sys('Finished GLBX.MDP3 replay'))).toBe(true);
    expect(isReplayCompleted(sys('Heartbeat'))).toBe(false);
  });

  const mapping = (id: number, requested: string, raw: string): SymbolMappingMsg => ({ kind: 'symbol_mapping', rtype: RTYPE.SYMBOL_MAPPING, publisher_id: 0, instrument_id: id, ts_event: 0n, stype_in_symbol: requested, stype_out_symbol: raw, start_ts: 0n, end_ts: 0n });
  it('continuous symbols keep the requested name (as historical mappings do), parents the raw contract; a roll is a change', () => {
    const s = new LiveSymbology();
    expect(s.push(mapping(1, 'ES.c.0', 'ESH6'))).toBe(true);
    expect(s.push(mapping(1, 'ES.c.0', 'ESH6'))).toBe(false);
    expect(s.push(mapping(2, 'ES.FUT', 'ESM6'))).toBe(true);
    expect(s.push(mapping(3, 'ES.FUT', 'ESU6'))).toBe(true);
    expect(s.eventSymbol(1)).toBe('ES.c.0');
    expect(s.eventSymbol(2)).toBe('ESM6');
    expect(s.eventSymbol(9)).toBeUndefined();
    expect(s.resolved()).toEqual({ 'ES.c.0': ['ESH6'], 'ES.FUT': ['ESM6', 'ESU6'] });
    expect(s.push(mapping(4, 'ES.c.0', 'ESM6'))).toBe(true); // the continuous contract rolled
  });

  it('the fake gateway names the quarterly contract of the session\'s quarter', () => {
    expect(frontContract('ES', 1_768_487_400_000_000_000n)).toBe('ESH6'); // 2026-01-15
    expect(frontContract('NQ', BigInt(Date.parse('2026-05-01T00:00:00Z')) * 1_000_000n)).toBe('NQM6');
  });
});
