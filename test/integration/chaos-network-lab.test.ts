import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { NetworkLab, networkLabUnavailable } from '../../src/chaos/network-lab.js';
import { waitFor } from '../helpers/wait.js';

const why = networkLabUnavailable();

/** True when a TCP connection to host:port opens within `timeoutMs`. */
function canConnect(host: string, port: number, timeoutMs = 700): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Connects from inside namespace `ns`; prints ok or fail. */
function canConnectFrom(ns: string, host: string, port: number): boolean {
  const script = `const s=require('net').connect({host:'${host}',port:${port}});s.setTimeout(700,()=>{console.log('fail');process.exit(0)});s.on('connect',()=>{console.log('ok');process.exit(0)});s.on('error',()=>{console.log('fail');process.exit(0)});`;
  return execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' }).trim() === 'ok';
}

test('network lab: namespaces reach each other, isolate and cut drop traffic, heal restores it, destroy removes everything', { skip: why }, async () => {
  const lab = NetworkLab.create(2);
  const server = spawn('ip', ['netns', 'exec', lab.netns(0), process.execPath, '-e', `require('net').createServer(s=>s.end()).listen(7000,'${lab.nodeAddress(0)}',()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    server.stdout!.on('data', (d) => (out += d));
    await waitFor('the server in namespace 0', () => out.includes('up'), 10_000);
    const addr0 = lab.nodeAddress(0);
    assert.equal(await canConnect(addr0, 7000), true, 'host -> ns0');
    assert.equal(canConnectFrom(lab.netns(1), addr0, 7000), true, 'ns1 -> ns0');

    lab.isolate(0);
    assert.equal(await canConnect(addr0, 7000), false, 'host -> isolated ns0');
    assert.equal(canConnectFrom(lab.netns(1), addr0, 7000), false, 'ns1 -> isolated ns0');
    lab.heal();
    assert.equal(await canConnect(addr0, 7000), true, 'host -> ns0 after heal');

    lab.cut(0, 1);
    assert.equal(canConnectFrom(lab.netns(1), addr0, 7000), false, 'ns1 -> ns0 across the cut');
    assert.equal(await canConnect(addr0, 7000), true, 'host -> ns0 is not cut');
    lab.heal();
    assert.equal(canConnectFrom(lab.netns(1), addr0, 7000), true, 'ns1 -> ns0 after heal');
  } finally {
    server.kill('SIGKILL');
    lab.destroy();
  }
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!left.includes(lab.netns(0)) && !left.includes(lab.netns(1)), `namespaces left behind: ${left}`);
});
