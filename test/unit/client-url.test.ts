import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FAILOVER_OPTIONS, parseClientUrl } from '../../src/client/index.js';
import { QmqError } from '../../src/util/errors.js';

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof QmqError && e.codeName === 'CONFIG_INVALID' && pattern.test(e.message));
}

describe('client URL parsing', () => {
  test('a single address is not a failover URL and gets default ports per scheme', () => {
    const u = parseClientUrl('tcp://broker1');
    assert.equal(u.failover, false);
    assert.deepEqual(u.addresses.map((a) => [a.scheme, a.host, a.port]), [['tcp', 'broker1', 61613]]);
    assert.equal(parseClientUrl('ssl://h').addresses[0].port, 61612);
    assert.deepEqual([parseClientUrl('ws://h:8080/stomp').addresses[0].path, parseClientUrl('ws://h').addresses[0].port], ['/stomp', 61614]);
    assert.equal(parseClientUrl('tcp://[::1]:1234').addresses[0].host, '::1');
  });

  test("the seed's failover form, with ActiveMQ's defaults except a finite timeout", () => {
    const u = parseClientUrl('failover:(tcp://a:61616,tcp://b:61616,tcp://c:61616)');
    assert.equal(u.failover, true);
    assert.deepEqual(u.addresses.map((a) => `${a.host}:${a.port}`), ['a:61616', 'b:61616', 'c:61616']);
    assert.deepEqual(u.options, { ...DEFAULT_FAILOVER_OPTIONS, priorityURIs: [] });
    assert.equal(u.options.timeoutMs, 30_000);
    assert.equal(u.options.randomize, true);
    assert.equal(u.options.initialReconnectDelayMs, 10);
  });

  test('options are read with their types; failover://( and the parenthesis-less list work too', () => {
    const u = parseClientUrl(
      'failover://(tcp://a:1,stomp://b:2)?randomize=false&initialReconnectDelay=50&maxReconnectDelay=2000&useExponentialBackOff=false' +
        '&reconnectDelayExponent=1.5&maxReconnectAttempts=3&startupMaxReconnectAttempts=0&timeout=5000&priorityBackup=true' +
        '&priorityURIs=tcp://b:2&backup=true&updateURIsSupported=false',
    );
    assert.deepEqual(u.options, {
      randomize: false, initialReconnectDelayMs: 50, maxReconnectDelayMs: 2000, useExponentialBackOff: false, reconnectDelayExponent: 1.5,
      maxReconnectAttempts: 3, startupMaxReconnectAttempts: 0, timeoutMs: 5000, priorityBackup: true, priorityURIs: ['tcp://b:2'],
      backup: true, updateURIsSupported: false,
    });
    const bare = parseClientUrl('failover:tcp://a:1,tcp://b:2?randomize=false');
    assert.deepEqual(bare.addresses.map((a) => a.port), [1, 2]);
    assert.equal(bare.options.randomize, false);
  });

  test('nested.* options apply to every inner URI', () => {
    const u = parseClientUrl('failover:(tcp://a:1,tcp://b:2?connectionTimeout=700)?nested.connectionTimeout=300');
    assert.deepEqual(u.addresses.map((a) => a.connectionTimeoutMs), [300, 700]);
  });

  test('an unknown option is an error that lists the valid ones', () => {
    configError(() => parseClientUrl('failover:(tcp://a:1)?randomise=false'), /unknown failover option "randomise".*valid options: randomize, initialReconnectDelay/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?nested.soTimout=5'), /unknown option "soTimout".*valid options: connectionTimeout/);
    configError(() => parseClientUrl('tcp://a:1?foo=bar'), /unknown option "foo"/);
  });

  test('malformed URLs and bad values are clear errors', () => {
    configError(() => parseClientUrl('localhost:61613'), /malformed broker URL "localhost:61613".*scheme:\/\/host:port/);
    configError(() => parseClientUrl('http://a:1'), /unsupported scheme "http"/);
    configError(() => parseClientUrl('tcp://a:70000'), /out of range/);
    configError(() => parseClientUrl('failover:(tcp://a:1,tcp://b:2'), /missing "\)"/);
    configError(() => parseClientUrl('failover:()'), /lists no broker/);
    configError(() => parseClientUrl('failover:(tcp://a:1)x'), /unexpected "x"/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?randomize=yes'), /randomize=yes .* must be true or false/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?maxReconnectAttempts=-2'), /below the minimum -1/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?initialReconnectDelay=1s'), /not a whole number/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?timeout=-1'), /every wait bounded/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?randomize'), /malformed option "randomize"/);
    configError(() => parseClientUrl('failover:(failover:(tcp://a:1))'), /nests another failover URL/);
    configError(() => parseClientUrl('failover:(tcp://a:1)?priorityURIs=nope'), /malformed broker URL "nope"/);
  });
});
