// Co-partitioned assignment: every input topic is keyed by underlying with the same partition count, so partition p of
// every input topic holds the same underlyings. The merge needs ALL of them together (its watermark waits on every
// input), so the unit of assignment is the partition group p = {(topic, p) for every input topic}, never a single
// topic-partition. Kafka's range/round-robin assigners may split a group across members; this one cannot.
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const PARTITION_GROUP_ASSIGNER = 'SnapPartitionGroupAssigner';

export class CoPartitioningError extends Error {
  constructor(
    message: string,
    readonly topic: string,
  ) {
    super(message);
    this.name = 'CoPartitioningError';
  }
}

/**
 * Pure assignment: partition group p goes to sorted member p mod n. Sorting member ids makes every leader compute the
 * same answer; a group that exists in only some topics (unequal partition counts) is refused, because a merge over a
 * missing input would wait forever.
 */
export function assignPartitionGroups(memberIds: readonly string[], partitionCounts: ReadonlyMap<string, number>): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const out = new Map<string, Record<string, number[]>>(members.map((m) => [m, {}]));
  if (members.length === 0 || partitionCounts.size === 0) return out;
  const counts = [...partitionCounts.entries()];
  const [firstTopic, n] = counts[0]!;
  for (const [topic, c] of counts) {
    if (c !== n) throw new CoPartitioningError(`input topics are not co-partitioned: ${firstTopic} has ${n} partitions, ${topic} has ${c}`, topic);
  }
  for (let p = 0; p < n; p++) {
    const a = out.get(members[p % members.length]!)!;
    for (const [topic] of counts) (a[topic] ??= []).push(p);
  }
  return out;
}

/** The partition groups (partition numbers) in one member's assignment. */
export function partitionGroupsOf(assignment: Record<string, number[]>): number[] {
  const s = new Set<number>();
  for (const ps of Object.values(assignment)) for (const p of ps) s.add(p);
  return [...s].sort((a, b) => a - b);
}

/** kafkajs PartitionAssigner wrapping assignPartitionGroups. */
export const PartitionGroupAssigner: PartitionAssigner = ({ cluster }) => ({
  name: PARTITION_GROUP_ASSIGNER,
  version: 1,
  async assign({ members, topics }) {
    const counts = new Map<string, number>();
    for (const topic of [...topics].sort()) counts.set(topic, cluster.findTopicPartitionMetadata(topic).length);
    const byMember = assignPartitionGroups(
      members.map((m) => m.memberId),
      counts,
    );
    return [...byMember.entries()].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: PARTITION_GROUP_ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
