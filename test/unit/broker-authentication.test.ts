import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticationFailure } from '../../src/broker/authentication.js';
import type { AuthenticationConfig } from '../../src/config/types.js';
import { QmqError } from '../../src/util/errors.js';
import { openKit } from './broker-test-kit.js';

const users = [{ username: 'app', password: 's3cret', groups: ['users'] }];
const closed: AuthenticationConfig = { anonymousAccessAllowed: false, users };
const open: AuthenticationConfig = { anonymousAccessAllowed: true, users };

describe('authenticationFailure (ActiveMQ SimpleAuthenticationBroker)', () => {
  const cases: Array<[string, AuthenticationConfig, string | undefined, string | undefined, string | null]> = [
    ['a known user with the right password', closed, 'app', 's3cret', null],
    ['the wrong password', closed, 'app', 'S3cret', 'User name [app] or password is invalid.'],
    ['no passcode', closed, 'app', undefined, 'User name [app] or password is invalid.'],
    ['an unknown user', closed, 'bob', 's3cret', 'User name [bob] or password is invalid.'],
    ['no login, anonymous access off', closed, undefined, undefined, 'User name [null] or password is invalid.'],
    ['an empty login counts as none', closed, '', 'x', 'User name [null] or password is invalid.'],
    ['no login, anonymous access on', open, undefined, undefined, null],
    ['a wrong password, anonymous access on', open, 'app', 'nope', 'User name [app] or password is invalid.'],
  ];
  for (const [what, auth, login, passcode, expected] of cases) {
    test(what, () => assert.equal(authenticationFailure(auth, login, passcode), expected));
  }
});

test('the core refuses a connection the plugin does not let in, as a fatal NOT_AUTHENTICATED error', async () => {
  const { core } = await openKit({ authentication: closed });
  assert.throws(
    () => core.connect({ login: 'app', passcode: 'bad', remoteAddress: '127.0.0.1:1', protocol: 'test' }),
    (e: unknown) => e instanceof QmqError && e.codeName === 'NOT_AUTHENTICATED' && e.fatal,
  );
  const c = core.connect({ login: 'app', passcode: 's3cret', remoteAddress: '127.0.0.1:1', protocol: 'test' });
  assert.ok(c.id);
  await core.close();
});
