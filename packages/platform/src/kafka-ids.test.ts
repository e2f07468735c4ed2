import { parseConfig } from '@snap/core';
import { ephemeralGroupId, lakeSinkGroupId, processorGroupId, processorTransactionalId, redisSinkGroupId, scopedId, transactionalIdPrefix } from './kafka-ids';

describe('Kafka ids are namespaced by the topic prefix unless set explicitly', () => {
  it('without a prefix: the configured ids', () => {
    const cfg = parseConfig({});
    expect([processorGroupId(cfg), transactionalIdPrefix(cfg), lakeSinkGroupId(cfg), redisSinkGroupId(cfg)]).toEqual(['snap-processor', 'snap-processor', 'snap-lake-sink', 'snap-redis-sink']);
    expect(processorTransactionalId(cfg, 3)).toBe('snap-processor-p3');
  });

  it('defaults get the prefix; two prefixes never share a group or a transactional id', () => {
    const a = parseConfig({ kafka: { topic_prefix: 'staging.' } });
    const b = parseConfig({ kafka: { topic_prefix: 'prod.' } });
    expect(processorGroupId(a)).toBe('staging.snap-processor');
    expect(processorTransactionalId(a, 0)).toBe('staging.snap-processor-p0');
    expect(lakeSinkGroupId(a)).toBe('staging.snap-lake-sink');
    expect(redisSinkGroupId(a)).toBe('staging.snap-redis-sink');
    expect(ephemeralGroupId(a, 'snap-gateway-x')).toBe('staging.snap-gateway-x');
    for (const f of [processorGroupId, transactionalIdPrefix, lakeSinkGroupId, redisSinkGroupId]) expect(f(a)).not.toBe(f(b));
  });

  it('an explicit id is used verbatim, and a prefix is never applied twice', () => {
    const cfg = parseConfig({ kafka: { topic_prefix: 'staging.', group_id: 'my-group', transactional_id_prefix: 'my-tx' }, lake: { sink_group_id: 'lake-x' } });
    expect(processorGroupId(cfg)).toBe('my-group');
    expect(processorTransactionalId(cfg, 1)).toBe('my-tx-p1');
    expect(lakeSinkGroupId(cfg)).toBe('lake-x');
    expect(scopedId(cfg, 'staging.already')).toBe('staging.already');
  });
});
