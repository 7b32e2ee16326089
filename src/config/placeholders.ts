/**
 * `${name}` substitution, the way ActiveMQ's PropertyPlaceholderConfigurer fills values from
 * system properties. Lookup order: `--set name=value`, then the environment (the exact name,
 * then the name upper-cased with `.` and `-` turned into `_`, so `${activemq.data}` also reads
 * ACTIVEMQ_DATA), then the built-in `activemq.*` values, then a Spring-style default written
 * as `${name:default}`.
 */

export interface PlaceholderSources {
  set: Record<string, string>;
  env: Record<string, string | undefined>;
  builtIns: Record<string, string>;
}

const PLACEHOLDER = /\$\{([^}:]*)(?::([^}]*))?\}/g;

/** The environment variable a placeholder may also be set with. */
export function envNameFor(name: string): string {
  return name.toUpperCase().replace(/[.-]/g, '_');
}

export function lookupPlaceholder(name: string, sources: PlaceholderSources): string | undefined {
  if (Object.hasOwn(sources.set, name)) return sources.set[name];
  const fromEnv = sources.env[name] ?? sources.env[envNameFor(name)];
  if (fromEnv !== undefined) return fromEnv;
  if (Object.hasOwn(sources.builtIns, name)) return sources.builtIns[name];
  return undefined;
}

export type PlaceholderResult = { ok: true; value: string } | { ok: false; message: string };

export function resolvePlaceholders(text: string, sources: PlaceholderSources): PlaceholderResult {
  let missing: string | undefined;
  const value = text.replace(PLACEHOLDER, (whole, rawName: string, fallback: string | undefined) => {
    const name = rawName.trim();
    const found = lookupPlaceholder(name, sources);
    if (found !== undefined) return found;
    if (fallback !== undefined) return fallback;
    missing ??= name;
    return whole;
  });
  if (missing !== undefined) {
    return {
      ok: false,
      message:
        `unresolved placeholder \${${missing}}; set it with --set ${missing}=VALUE ` +
        `or the environment variable ${envNameFor(missing)}`,
    };
  }
  return { ok: true, value };
}
