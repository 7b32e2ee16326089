/**
 * Whether a user may read from, write to or administer (create, delete) a destination under
 * an `<authorizationPlugin>`, decided as ActiveMQ's AuthorizationBroker and
 * DefaultAuthorizationMap decide it:
 * - an ordinary destination's ACL for an operation is the union of that operation's groups
 *   over every entry whose pattern matches it, plus the default entry; an empty union refuses;
 * - a composite destination needs the right on each of its names;
 * - temporary destinations follow `<tempDestinationAuthorizationEntry>`, and are open to every
 *   authenticated user without one;
 * - the group `*` stands for everyone;
 * - creating needs admin only when the destination does not exist yet (the caller knows).
 * Pure: the broker core applies the answer.
 */
import type { AclSet, AuthorizationConfig } from '../config/types.js';
import { destinationKey, type DestinationRef } from './message.js';
import { isWildcard, matchesWildcard } from './wildcard.js';

export type Operation = 'read' | 'write' | 'admin';

/** Who is asking: the authenticated user (or the anonymous user) and their groups. */
export interface Principal {
  user: string;
  groups: readonly string[];
}

const VERB: Record<Operation, string> = { read: 'read from', write: 'write to', admin: 'create' };

/** The groups allowed `op` on one (non-composite) destination; null = no restriction. */
export function allowedGroups(cfg: AuthorizationConfig, ref: DestinationRef, op: Operation): Set<string> | null {
  if (ref.kind === 'temp-queue' || ref.kind === 'temp-topic') return cfg.temp ? new Set(cfg.temp[op]) : null;
  const out = new Set<string>();
  const add = (acl: AclSet) => acl[op].forEach((g) => out.add(g));
  for (const e of cfg.entries) {
    if (e.kind !== ref.kind) continue;
    // An entry may itself list several names, as a composite destination does.
    if (e.pattern.split(',').some((p) => entryMatches(p.trim(), ref.name))) add(e);
  }
  if (cfg.defaultEntry) add(cfg.defaultEntry);
  return out;
}

/**
 * An entry pattern covers a name when it matches it as a wildcard; a subscription that is
 * itself a wildcard (`orders.>`) is covered by the entries that match it as written.
 */
function entryMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!isWildcard(pattern)) return false;
  return matchesWildcard(pattern, name);
}

/** null when allowed; otherwise the refusal in ActiveMQ's words ("User app is not authorized to write to: queue://orders"). */
export function authorizationFailure(cfg: AuthorizationConfig, who: Principal, ref: DestinationRef, op: Operation, verb = VERB[op]): string | null {
  const names = ref.name.includes(',') ? ref.name.split(',').map((n) => n.trim()).filter((n) => n !== '') : [ref.name];
  for (const name of names) {
    const allowed = allowedGroups(cfg, { kind: ref.kind, name }, op);
    if (allowed === null || allowed.has('*') || who.groups.some((g) => allowed.has(g))) continue;
    return `User ${who.user} is not authorized to ${verb}: ${destinationKey(ref)}`;
  }
  return null;
}
