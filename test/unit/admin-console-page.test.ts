import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLE_PAGE } from '../../src/admin/console-page.js';

test('the console page\'s script is valid JavaScript and writes broker data only as text', () => {
  const script = CONSOLE_PAGE.split('<script>')[1]?.split('</script>')[0];
  assert.ok(script, 'the page has a script');
  // Compiling it (not running it) catches a syntax error that only a browser would otherwise see.
  assert.doesNotThrow(() => new Function(script));
  // Queue names and message bodies come from clients: no HTML from them may reach the page.
  assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  for (const path of ['/api/status', '/api/destinations', '/api/connections']) assert.ok(script.includes(path), path);
});
