import type { AuthenticationConfig } from '../config/types.js';
import { authenticationFailure } from '../broker/authentication.js';

/**
 * Who may use the destination API and the console. Without `<simpleAuthenticationPlugin>` the
 * broker trusts its clients, and the HTTP port (127.0.0.1 unless configured) does the same.
 * With it, every request needs HTTP Basic credentials of a configured user, and a change
 * (purge, delete, send) needs a user in the `admins` group, ActiveMQ's stock admin group.
 * Anonymous access to the broker does not extend to the console: it can delete data.
 */
export const ADMIN_GROUP = 'admins';

export type AccessDecision = { allowed: true; login?: string; passcode?: string } | { allowed: false; status: 401 | 403; message: string };

/** Splits an `Authorization: Basic …` header; undefined when absent or not Basic. */
export function basicCredentials(header: string | undefined): { login: string; passcode: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { login: text.slice(0, colon), passcode: text.slice(colon + 1) };
}

export function adminAccess(auth: AuthenticationConfig | undefined, authorization: string | undefined, change: boolean): AccessDecision {
  if (auth === undefined) return { allowed: true };
  const creds = basicCredentials(authorization);
  if (creds === undefined || creds.login === '') return { allowed: false, status: 401, message: 'this broker requires a user name and password (HTTP Basic)' };
  const refused = authenticationFailure(auth, creds.login, creds.passcode);
  if (refused !== null) return { allowed: false, status: 401, message: refused };
  if (change && !auth.users.some((u) => u.username === creds.login && u.groups.includes(ADMIN_GROUP))) {
    return { allowed: false, status: 403, message: `user ${creds.login} is not in the ${ADMIN_GROUP} group, which changes need` };
  }
  return { allowed: true, ...creds };
}
