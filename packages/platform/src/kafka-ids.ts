// THE derivation of consumer group ids and transactional ids (issue 8). Topics are namespaced by kafka.topic_prefix
// (TOPIC_PREFIX); so must every id a service registers with the cluster, or two environments sharing one cluster join
// the same consumer group (one gets no partitions and reports "nothing to do") and fence each other's transactions.
//
// Rule: an id still at its schema default is prefixed with kafka.topic_prefix; an id set explicitly (any other
// value) is used verbatim — the operator chose it. An id that already starts with the prefix is not prefixed twice.
import { parseConfig, type Config } from '@snap/core';

type Cfg = Pick<Config, 'kafka'>;

let defaults: Config | undefined;
const D = (): Config => (defaults ??= parseConfig({}));

/** `id` namespaced by the topic prefix, unless it was set explicitly (differs from `defaultId`). */
export function scopedId(cfg: Cfg, id: string, defaultId?: string): string {
  const prefix = cfg.kafka.topic_prefix;
  if (!prefix) return id;
  if (defaultId !== undefined && id !== defaultId) return id;
  return id.startsWith(prefix) ? id : `${prefix}${id}`;
}

/** Consumer group of the processor (kafka.group_id). */
export const processorGroupId = (cfg: Cfg): string => scopedId(cfg, cfg.kafka.group_id, D().kafka.group_id);

/** Prefix of the processor's transactional ids (kafka.transactional_id_prefix); replay derives its own from it. */
export const transactionalIdPrefix = (cfg: Cfg): string => scopedId(cfg, cfg.kafka.transactional_id_prefix, D().kafka.transactional_id_prefix);

/** transactional.id of the processor's partition group p. */
export const processorTransactionalId = (cfg: Cfg, group: number): string => `${transactionalIdPrefix(cfg)}-p${group}`;

/** Consumer group of `sink lake` (lake.sink_group_id). */
export const lakeSinkGroupId = (cfg: Cfg & Pick<Config, 'lake'>): string => scopedId(cfg, cfg.lake.sink_group_id, D().lake.sink_group_id);

/** Consumer group of `sink redis` (redis.sink_group_id). */
export const redisSinkGroupId = (cfg: Cfg & Pick<Config, 'redis'>): string => scopedId(cfg, cfg.redis.sink_group_id, D().redis.sink_group_id);

/** A throwaway group id (gateway readers, bounded reads): unique, and still inside the environment's namespace. */
export const ephemeralGroupId = (cfg: Cfg, base: string): string => scopedId(cfg, base);
