import { assignPartitionGroups, CoPartitioningError, partitionGroupsOf } from './assigner';

const counts = (n: number, topics = ['q', 't', 'o', 'g']) => new Map(topics.map((t) => [t, n]));

describe('assignPartitionGroups', () => {
  it('gives each member whole partition groups: partition p of every topic together', () => {
    const a = assignPartitionGroups(['m2', 'm1'], counts(3));
    expect(a.get('m1')).toEqual({ q: [0, 2], t: [0, 2], o: [0, 2], g: [0, 2] });
    expect(a.get('m2')).toEqual({ q: [1], t: [1], o: [1], g: [1] });
    expect(partitionGroupsOf(a.get('m1')!)).toEqual([0, 2]);
  });

  it('is independent of member order (every leader computes the same) and covers every group once', () => {
    const x = assignPartitionGroups(['c', 'a', 'b'], counts(7));
    const y = assignPartitionGroups(['b', 'c', 'a'], counts(7));
    expect([...x.entries()]).toEqual([...y.entries()]);
    const all = [...x.values()].flatMap((m) => partitionGroupsOf(m)).sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('leaves extra members idle when there are more members than groups', () => {
    const a = assignPartitionGroups(['a', 'b', 'c'], counts(2));
    expect(partitionGroupsOf(a.get('c')!)).toEqual([]);
  });

  it('refuses topics that are not co-partitioned, naming the topic', () => {
    const c = new Map([
      ['q', 3],
      ['t', 4],
    ]);
    expect(() => assignPartitionGroups(['a'], c)).toThrow(CoPartitioningError);
    expect(() => assignPartitionGroups(['a'], c)).toThrow(/t has 4/);
  });
});
