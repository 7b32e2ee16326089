/** The config module's public face: load XML, build defaults, validate code-built configs, match policies. */
import { readFileSync } from 'node:fs';
import { QmqError } from '../util/errors.js';
import { baseDefaultConfig, defaultJdbc, defaultJournal, defaultReplicated } from './defaults.js';
import { validateConfig } from './schema.js';
import type { BrokerConfig, PersistenceConfig } from './types.js';
import { parseConfigXml, type LoadedConfig, type LoadOptions } from './xml-loader.js';

export type { LoadedConfig, LoadOptions } from './xml-loader.js';
export { parseConfigXml } from './xml-loader.js';
export { validateConfig, SYNC_TOKENS } from './schema.js';
export { findPolicy } from './policy-match.js';
export { parseSizeBytes, parseDurationMs } from './sizes.js';
export { SUPPORTED_SCHEMES } from './connector-uri.js';
export type * from './types.js';

/** Every property optional, recursively; arrays are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export function loadConfigFile(path: string, opts: LoadOptions = {}): LoadedConfig {
  let xml: string;
  try {
    xml = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new QmqError('CONFIG_INVALID', `${path}: cannot read the config file: ${reason}`, { cause: e });
  }
  return parseConfigXml(xml, path, opts);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(base[k]) ? mergeDeep(base[k], v) : v;
  }
  return out;
}

function persistenceDefaults(kind: PersistenceConfig['kind'] | undefined, dataDirectory: string): PersistenceConfig {
  switch (kind) {
    case 'memory':
      return { kind: 'memory' };
    case 'replicatedLevelDB':
      return defaultReplicated(dataDirectory);
    case 'jdbc':
      return defaultJdbc('');
    default:
      return defaultJournal(dataDirectory);
  }
}

/**
 * What `quorummq start` runs with no config, with `overrides` merged in. The store directory
 * follows an overridden dataDirectory unless it is overridden itself; overriding
 * `persistence.kind` starts from that kind's defaults. The result is validated.
 */
export function defaultConfig(overrides: DeepPartial<BrokerConfig> = {}): BrokerConfig {
  const base = baseDefaultConfig();
  const dataDirectory = overrides.dataDirectory ?? base.dataDirectory;
  const p = overrides.persistence as Partial<PersistenceConfig> | undefined;
  base.persistence = persistenceDefaults(p?.kind, dataDirectory);
  const merged = mergeDeep(base as unknown as Record<string, unknown>, overrides as Record<string, unknown>);
  return validateConfig(merged, String(merged.source ?? '<defaults>'));
}

