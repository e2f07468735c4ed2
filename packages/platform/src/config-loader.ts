// The one config loader: defaults (zod) <- JSON file (--config or SNAP_CONFIG) <- environment.
import { readFileSync } from 'node:fs';
import { Config, ConfigError, ConfigSchema, ENV_ALIASES, SECRET_KEYS, parseConfig } from '@snap/core';
import { registerSecret } from './logger';

type Obj = Record<string, unknown>;

function setPath(obj: Obj, dotted: string, value: unknown) {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Obj;
  cur[parts[parts.length - 1]!] = value;
}

function deepMerge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' ? deepMerge(out[k] as Obj, v as Obj) : v;
  }
  return out;
}

/** The shape of a leaf in the schema decides how an env string is read. */
function leafKind(dotted: string): 'number' | 'boolean' | 'array' | 'string' | 'record' | undefined {
  const s = schemaAt(dotted);
  if (!s) return undefined;
  const t = s?.def?.type;
  return t === 'number' || t === 'boolean' || t === 'array' || t === 'string' || t === 'record' ? t : 'string';
}

/** The schema node of a dotted key, unwrapped (default/prefault/optional), or undefined when the key is unknown. */
function schemaAt(dotted: string): any {
  let s: any = ConfigSchema;
  for (const p of dotted ? dotted.split('.') : []) {
    while (s?.def?.innerType) s = s.def.innerType;
    s = s?.def?.shape?.[p];
    if (!s) return undefined;
  }
  while (s?.def?.innerType) s = s.def.innerType;
  return s;
}

/** Keys whose documented default is the empty string (prefixes): there '' is a real value, not a missing one. */
function emptyAllowed(dotted: string): boolean {
  const parts = dotted.split('.');
  const d = parseConfig({}) as unknown as Obj;
  let cur: unknown = d;
  for (const p of parts) cur = cur && typeof cur === 'object' ? (cur as Obj)[p] : undefined;
  return cur === '';
}

/**
 * A config file's keys, checked against the schema: an unknown key (a typo like `tape.windw_ms`) would otherwise be
 * dropped silently by zod and the default used; an empty string where the default is not empty would mean "unset" to
 * a reader and "" to the program. Both stop the program naming the key path.
 */
export function checkFileKeys(obj: unknown, file: string, prefix = ''): void {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    if (!prefix) throw new ConfigError(`config file ${file} must hold a JSON object`, '(file)');
    return;
  }
  for (const [k, v] of Object.entries(obj as Obj)) {
    const dotted = prefix ? `${prefix}.${k}` : k;
    const node = schemaAt(dotted);
    if (!node) throw new ConfigError(`unknown config key "${dotted}" (config file ${file})`, dotted);
    if (typeof v === 'string' && v.trim() === '' && !emptyAllowed(dotted)) throw new ConfigError(`empty config value at "${dotted}" (config file ${file}): remove the key to use the default`, dotted);
    if (node.def?.type === 'object') checkFileKeys(v, file, dotted);
  }
}

/** An empty env value would silently mean "the default" (KAFKA_BROKERS= → localhost): refused, naming the variable. */
function refuseEmpty(name: string, dotted: string, raw: string): void {
  if (raw.trim() === '' && !emptyAllowed(dotted)) throw new ConfigError(`empty config value at "${dotted}" (env ${name} is set but empty): unset it to use the default`, dotted);
}

function coerceEnv(key: string, dotted: string, raw: string): unknown {
  refuseEmpty(key, dotted, raw);
  switch (leafKind(dotted)) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`invalid config value at "${dotted}" (env ${key}=${JSON.stringify(raw)}): expected a number`, dotted);
      return n;
    }
    case 'boolean':
      if (!/^(true|false|1|0)$/i.test(raw)) throw new ConfigError(`invalid config value at "${dotted}" (env ${key}=${JSON.stringify(raw)}): expected true or false`, dotted);
      return /^(true|1)$/i.test(raw);
    case 'array': {
      const t = raw.trim();
      if (t.startsWith('[')) return JSON.parse(t);
      return t.split(',').map((x) => x.trim()).filter(Boolean).map((x) => (/^-?\d+(\.\d+)?$/.test(x) && dotted !== 'kafka.brokers' ? Number(x) : x));
    }
    case 'record':
      // Maps (futures.contracts, futures.barrier_sources) come as one JSON object: SNAP_FUTURES_BARRIER_SOURCES='{"QQQ":"mbp10"}'.
      try {
        return JSON.parse(raw);
      } catch (e) {
        throw new ConfigError(`invalid config value at "${dotted}" (env ${key}): expected a JSON object: ${(e as Error).message}`, dotted);
      }
    default:
      return raw;
  }
}

/** SNAP_ variables that are not config keys: the config file path, and scripts/stack's cache and run directories. */
const NOT_CONFIG_ENV = new Set(['SNAP_CONFIG', 'SNAP_CACHE', 'SNAP_RUN_DIR']);

export function envOverrides(env: NodeJS.ProcessEnv): Obj {
  const out: Obj = {};
  for (const [name, dotted] of Object.entries(ENV_ALIASES)) {
    const v = env[name];
    if (v !== undefined) setPath(out, dotted, coerceEnv(name, dotted, v));
  }
  const sections = Object.keys((ConfigSchema as any).def.shape as object).sort((a, b) => b.length - a.length);
  for (const [name, v] of Object.entries(env)) {
    if (!name.startsWith('SNAP_') || v === undefined || NOT_CONFIG_ENV.has(name)) continue;
    const rest = name.slice(5).toLowerCase();
    // Section names may contain underscores (schema_registry), so match the longest known section first.
    const section = sections.find((s) => rest.startsWith(s + '_'));
    const dotted = section ? `${section}.${rest.slice(section.length + 1)}` : rest.replace('_', '.');
    if (!section || !leafKind(dotted)) throw new ConfigError(`unknown config key "${dotted}" (env ${name})`, dotted);
    setPath(out, dotted, coerceEnv(name, dotted, v));
  }
  return out;
}

export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Obj } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.SNAP_CONFIG;
  let fromFile: Obj = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`, '(file)');
    }
    try {
      fromFile = JSON.parse(text) as Obj;
    } catch (e) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`, '(file)');
    }
    checkFileKeys(fromFile, file);
  }
  const cfg = parseConfig(deepMerge(deepMerge(fromFile, envOverrides(env)), opts.overrides ?? {}));
  // Inline secrets are masked in every log line from now on (file secrets are registered when they are read).
  for (const k of SECRET_KEYS) {
    const [section, key] = k.split('.') as [keyof Config, string];
    const v = (cfg[section] as Record<string, unknown>)[key];
    if (typeof v === 'string' && v) registerSecret(v);
  }
  return cfg;
}
