/**
 * Whether a CONNECT may proceed under `<simpleAuthenticationPlugin>` (ActiveMQ
 * SimpleAuthenticationBroker): a known user with the right password, or no login at all when
 * anonymous access is allowed. A wrong password is refused even then. The answer names no
 * more than ActiveMQ's does, so it does not tell a caller which part was wrong.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthenticationConfig } from '../config/types.js';
import type { Principal } from './authorization.js';

/** null when the client may connect; otherwise the reason, worded as ActiveMQ words it. */
export function authenticationFailure(auth: AuthenticationConfig, login: string | undefined, passcode: string | undefined): string | null {
  if (login === undefined || login === '') {
    return auth.anonymousAccessAllowed ? null : 'User name [null] or password is invalid.';
  }
  const user = auth.users.find((u) => u.username === login);
  // Compared as digests, so the time taken does not depend on where the strings differ.
  const given = createHash('sha256').update(passcode ?? '').digest();
  const expected = createHash('sha256').update(user?.password ?? '').digest();
  if (user === undefined || !timingSafeEqual(given, expected)) return `User name [${login}] or password is invalid.`;
  return null;
}

/**
 * Who an admitted client is, for authorization: a configured user with their groups, or the
 * anonymous user in the anonymous group (SimpleAuthenticationBroker's defaults: both `anonymous`).
 */
export function principalOf(auth: AuthenticationConfig | undefined, login: string | undefined): Principal {
  const user = login ? auth?.users.find((u) => u.username === login) : undefined;
  if (user) return { user: user.username, groups: user.groups };
  if (auth !== undefined && !login) return { user: auth.anonymousUser ?? 'anonymous', groups: [auth.anonymousGroup ?? 'anonymous'] };
  return { user: login || 'anonymous', groups: [] };
}
