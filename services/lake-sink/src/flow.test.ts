import { boundedRunner, isRebalanceError } from './envelope-consumer';

describe('boundedRunner (the lake sink memory bound)', () => {
  const keys = ['t:0', 't:1', 't:2'];
  const all = () => true;

  it('lets every partition read while the rows held are within the bound', () => {
    expect(boundedRunner(new Map([['t:0', 40], ['t:1', 60]]), keys, all, 100)).toBeNull();
    expect(boundedRunner(new Map(), keys, all, 1)).toBeNull();
  });

  it('above the bound, keeps only the partition holding the most rows reading', () => {
    expect(boundedRunner(new Map([['t:0', 40], ['t:1', 70], ['t:2', 5]]), keys, all, 100)).toBe('t:1');
  });

  it('skips partitions with no data left (their window cannot close), and lifts the bound when none has any', () => {
    const held = new Map([['t:0', 40], ['t:1', 70], ['t:2', 5]]);
    expect(boundedRunner(held, keys, (k) => k !== 't:1', 100)).toBe('t:0');
    expect(boundedRunner(held, keys, (k) => k === 't:2', 100)).toBe('t:2');
    expect(boundedRunner(held, keys, () => false, 100)).toBeNull();
  });

  it('a partition holding nothing can still be the one to read (the others are dry)', () => {
    expect(boundedRunner(new Map([['t:0', 150]]), keys, (k) => k === 't:2', 100)).toBe('t:2');
  });
});

describe('isRebalanceError (an offset commit that lost a race with a rebalance)', () => {
  it('recognises the protocol error itself and kafkajs\' non-retriable wrapper around it', () => {
    const protocol = Object.assign(new Error('The coordinator is not aware of this member'), { type: 'UNKNOWN_MEMBER_ID' });
    expect(isRebalanceError(protocol)).toBe(true);
    expect(isRebalanceError(Object.assign(new Error(protocol.message), { name: 'KafkaJSNonRetriableError', cause: protocol }))).toBe(true);
  });

  it('does not swallow other failures', () => {
    expect(isRebalanceError(Object.assign(new Error('Topic authorization failed'), { type: 'TOPIC_AUTHORIZATION_FAILED' }))).toBe(false);
    expect(isRebalanceError(new Error('socket hang up'))).toBe(false);
    expect(isRebalanceError(null)).toBe(false);
  });
});
