import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAccess, basicCredentials } from '../../src/admin/access.js';
import type { AuthenticationConfig } from '../../src/config/types.js';

const auth: AuthenticationConfig = {
  anonymousAccessAllowed: true,
  users: [
    { username: 'admin', password: 'pw', groups: ['admins', 'users'] },
    { username: 'app', password: 'apw', groups: ['users'] },
  ],
};
const basic = (login: string, pass: string) => `Basic ${Buffer.from(`${login}:${pass}`).toString('base64')}`;

test('adminAccess: who may read and who may change', () => {
  const rows: Array<[string, AuthenticationConfig | undefined, string | undefined, boolean, true | 401 | 403]> = [
    ['no broker authentication: reads are open', undefined, undefined, false, true],
    ['no broker authentication: changes are open', undefined, undefined, true, true],
    ['authentication, no credentials (anonymous broker access does not count)', auth, undefined, false, 401],
    ['authentication, not Basic', auth, 'Bearer abc', false, 401],
    ['authentication, wrong password', auth, basic('app', 'nope'), false, 401],
    ['authentication, unknown user', auth, basic('eve', 'apw'), false, 401],
    ['a user reads', auth, basic('app', 'apw'), false, true],
    ['a user outside admins changes', auth, basic('app', 'apw'), true, 403],
    ['an admin changes', auth, basic('admin', 'pw'), true, true],
    ['an empty login', auth, basic('', 'pw'), false, 401],
  ];
  for (const [what, a, header, change, expected] of rows) {
    const d = adminAccess(a, header, change);
    assert.equal(d.allowed ? true : d.status, expected, what);
  }
});

test('basicCredentials splits at the first colon and rejects other schemes', () => {
  assert.deepEqual(basicCredentials(basic('u', 'p:with:colons')), { login: 'u', passcode: 'p:with:colons' });
  assert.equal(basicCredentials(undefined), undefined);
  assert.equal(basicCredentials('Digest x'), undefined);
  assert.equal(basicCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
});
