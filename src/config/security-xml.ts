/**
 * `<simpleAuthenticationPlugin>` → who may connect. ActiveMQ's shape: `anonymousAccessAllowed`
 * and a `<users>` list of `<authenticationUser username password groups/>`. Groups are kept for
 * the status API; without an authorization plugin they grant nothing (as in ActiveMQ).
 */
import type { AuthenticationConfig } from './types.js';
import type { ConfigReader } from './xml-reader.js';
import type { XmlElement } from './xml-tree.js';

export function readSimpleAuthentication(r: ConfigReader, el: XmlElement): AuthenticationConfig {
  r.checkAttributes(el, { mapped: ['anonymousAccessAllowed'], ignored: ['anonymousUser', 'anonymousGroup'] });
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
  return { anonymousAccessAllowed, users };
}
