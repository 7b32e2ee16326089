/**
 * `<simpleAuthenticationPlugin>` → who may connect. ActiveMQ's shape: `anonymousAccessAllowed`
 * and a `<users>` list of `<authenticationUser username password groups/>`. The groups are what
 * an `<authorizationPlugin>` (below) grants read, write and admin to.
 */
import type { AclSet, AuthenticationConfig, AuthorizationConfig, AuthorizationEntry } from './types.js';
import type { ConfigReader } from './xml-reader.js';
import type { XmlElement } from './xml-tree.js';

export function readSimpleAuthentication(r: ConfigReader, el: XmlElement): AuthenticationConfig {
  r.checkAttributes(el, { mapped: ['anonymousAccessAllowed', 'anonymousUser', 'anonymousGroup'] });
  const lists = r.checkChildren(el, ['users']);
  const users: AuthenticationConfig['users'] = [];
  const seen = new Map<string, number>();
  for (const list of lists.get('users') ?? []) {
    r.checkAttributes(list, { mapped: [] });
    r.checkChildren(list, ['authenticationUser']);
    for (const u of list.children) {
      r.checkAttributes(u, { mapped: ['username', 'password', 'groups'] });
      r.checkChildren(u, []);
      const username = r.requiredStr(u, 'username', 'the login a client sends in CONNECT');
      const first = seen.get(username);
      if (first !== undefined) r.fail(u, `user "${username}" is defined twice (also at line ${first})`);
      seen.set(username, u.line);
      const groups = (r.str(u, 'groups') ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '');
      users.push({ username, password: r.str(u, 'password') ?? '', groups });
    }
  }
  const anonymousAccessAllowed = r.bool(el, 'anonymousAccessAllowed') ?? false;
  if (users.length === 0 && !anonymousAccessAllowed) {
    r.fail(el, '<simpleAuthenticationPlugin> lists no <authenticationUser> and anonymousAccessAllowed is false, so no client could connect');
  }
  const anonymousUser = r.str(el, 'anonymousUser');
  const anonymousGroup = r.str(el, 'anonymousGroup');
  return { anonymousAccessAllowed, users, ...(anonymousUser ? { anonymousUser } : {}), ...(anonymousGroup ? { anonymousGroup } : {}) };
}

const groupsOf = (r: ConfigReader, el: XmlElement, attr: string) =>
  (r.str(el, attr) ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');

function readAcls(r: ConfigReader, el: XmlElement): AclSet {
  return { read: groupsOf(r, el, 'read'), write: groupsOf(r, el, 'write'), admin: groupsOf(r, el, 'admin') };
}

/** The one `<inner>` inside a wrapper element named like it (ActiveMQ's xbean property style). */
function wrapped(r: ConfigReader, outer: XmlElement, inner: string): XmlElement | undefined {
  r.checkAttributes(outer, { mapped: [] });
  return r.single(outer, r.checkChildren(outer, [inner]), inner);
}

/**
 * `<authorizationPlugin><map><authorizationMap>` → who may read, write and administer which
 * destinations (ActiveMQ DefaultAuthorizationMap): `<authorizationEntries>` of
 * `<authorizationEntry queue|topic="pattern" read write admin/>`, an optional
 * `<tempDestinationAuthorizationEntry>` and an optional `<defaultEntry>`. Other maps (LDAP, JAAS)
 * are refused by name: ignoring them would let clients do what they forbid.
 */
export function readAuthorization(r: ConfigReader, el: XmlElement): AuthorizationConfig {
  const map = wrapped(r, el, 'map');
  if (map === undefined) r.fail(el, '<authorizationPlugin> needs a <map><authorizationMap>…</authorizationMap></map>');
  for (const child of map.children) {
    if (child.name !== 'authorizationMap') r.unsupported(child, `<${child.name}> is not supported: use <authorizationMap> with <authorizationEntries>`);
  }
  const am = wrapped(r, map, 'authorizationMap');
  if (am === undefined) r.fail(map, '<map> needs an <authorizationMap>');
  r.checkAttributes(am, { mapped: [], ignored: ['groupClass'] });
  const parts = r.checkChildren(am, ['authorizationEntries', 'tempDestinationAuthorizationEntry', 'defaultEntry']);
  const entries: AuthorizationEntry[] = [];
  for (const list of parts.get('authorizationEntries') ?? []) {
    r.checkAttributes(list, { mapped: [] });
    r.checkChildren(list, ['authorizationEntry']);
    for (const e of list.children) entries.push(readEntry(r, e));
  }
  const out: AuthorizationConfig = { entries };
  const tempOuter = r.single(am, parts, 'tempDestinationAuthorizationEntry');
  if (tempOuter !== undefined) {
    const temp = wrapped(r, tempOuter, 'tempDestinationAuthorizationEntry');
    if (temp === undefined) r.fail(tempOuter, '<tempDestinationAuthorizationEntry> wraps one <tempDestinationAuthorizationEntry read write admin/>');
    r.checkAttributes(temp, { mapped: ['read', 'write', 'admin'], ignored: ['groupClass'] });
    r.checkChildren(temp, []);
    out.temp = readAcls(r, temp);
  }
  const defOuter = r.single(am, parts, 'defaultEntry');
  if (defOuter !== undefined) {
    const def = wrapped(r, defOuter, 'authorizationEntry');
    if (def === undefined) r.fail(defOuter, '<defaultEntry> wraps one <authorizationEntry read write admin/>');
    r.checkAttributes(def, { mapped: ['read', 'write', 'admin'], ignored: ['groupClass'] });
    r.checkChildren(def, []);
    out.defaultEntry = readAcls(r, def);
  }
  if (entries.length === 0 && out.defaultEntry === undefined) {
    r.fail(am, '<authorizationMap> has no <authorizationEntry> and no <defaultEntry>, so no client could use any destination');
  }
  return out;
}

function readEntry(r: ConfigReader, e: XmlElement): AuthorizationEntry {
  r.checkAttributes(e, { mapped: ['queue', 'topic', 'read', 'write', 'admin'], ignored: ['groupClass'] });
  r.checkChildren(e, []);
  const queue = r.str(e, 'queue');
  const topic = r.str(e, 'topic');
  if ((queue === undefined) === (topic === undefined)) r.fail(e, '<authorizationEntry> names exactly one of queue="…" or topic="…"');
  const pattern = (queue ?? topic)!.trim();
  if (pattern === '') r.fail(e, '<authorizationEntry> has an empty destination name');
  return { kind: queue !== undefined ? 'queue' : 'topic', pattern, ...readAcls(r, e) };
}
