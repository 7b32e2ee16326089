import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { NetworkLab, networkLabUnavailable, removeStaleNamespaces } from '../../src/chaos/network-lab.js';
import { NodeNetwork } from '../../src/chaos/node-network.js';
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

/**
 * From inside namespace `ns`: true when a connection to host:port delivers the service's
 * greeting. Asynchronous: the forwarder and the service run in this process's event loop.
 */
async function greetedFrom(ns: string, host: string, port: number): Promise<boolean> {
  const script = `const s=require('net').connect({host:'${host}',port:${port}});s.setTimeout(1500,()=>{console.log('fail');process.exit(0)});s.on('data',()=>{console.log('ok');process.exit(0)});s.on('error',()=>{console.log('fail');process.exit(0)});s.on('close',()=>{console.log('fail');process.exit(0)});`;
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' });
  return stdout.trim() === 'ok';
}

test('node network: a namespace reaches a loopback service through its forwarder; cutting the service ports leaves clients alone', { skip: why }, async () => {
  const service = net.createServer((s) => s.end('hello'));
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const servicePort = (service.address() as net.AddressInfo).port;
  const network = NodeNetwork.open(1, true);
  const lab = network.lab!;
  const node = spawn('ip', ['netns', 'exec', lab.netns(0), process.execPath, '-e', `require('net').createServer(s=>s.end()).listen(7000,'${lab.nodeAddress(0)}',()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    node.stdout!.on('data', (d) => (out += d));
    await waitFor('the node in namespace 0', () => out.includes('up'), 10_000);
    // The service itself is out of the namespace's reach; its forwarder is not.
    assert.equal(await greetedFrom(lab.netns(0), '127.0.0.1', servicePort), false, 'ns0 -> loopback service directly');
    const via = await network.serviceAddress(0, servicePort);
    assert.equal(via.host, lab.hostAddress(0));
    assert.deepEqual(network.servicePorts(0), [via.port]);
    assert.equal(await greetedFrom(lab.netns(0), via.host, via.port), true, 'ns0 -> service through the forwarder');

    lab.cutPorts(0, network.servicePorts(0));
    assert.equal(await greetedFrom(lab.netns(0), via.host, via.port), false, 'ns0 -> service across the cut');
    assert.equal(await canConnect(lab.nodeAddress(0), 7000), true, 'host clients -> ns0 are not cut');
    lab.heal();
    assert.equal(await greetedFrom(lab.netns(0), via.host, via.port), true, 'ns0 -> service after heal');
  } finally {
    node.kill('SIGKILL');
    await network.close();
    service.close();
  }
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!left.includes(lab.netns(0)), `namespace left behind: ${left}`);
});

test('two labs at once (two processes): the first to go leaves the other routed, and only the last puts ip_forward back', { skip: why }, async () => {
  const labModule = new URL('../../src/chaos/network-lab.ts', import.meta.url).pathname;
  // Ours comes first, so it is the one that found ip_forward as it was before any lab.
  const ours = NetworkLab.create(2);
  const saved = readFileSync('/run/qmqchaos/ip_forward.saved', 'utf8').trim();
  // The other lab lives in a child process: namespaces are named after their process.
  const script = `import { NetworkLab } from ${JSON.stringify(labModule)};
const lab = NetworkLab.create(2);
console.log(JSON.stringify({ ns: [lab.netns(0), lab.netns(1)], addr0: lab.nodeAddress(0) }));
process.stdin.resume();
process.stdin.on('end', () => { lab.destroy(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  let server: ReturnType<typeof spawn> | undefined;
  try {
    await waitFor('the other lab', () => out.includes('\n'), 20_000);
    const other = JSON.parse(out) as { ns: string[]; addr0: string };
    server = spawn('ip', ['netns', 'exec', other.ns[0], process.execPath, '-e', `require('net').createServer(s=>s.end()).listen(7000,'${other.addr0}',()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let up = '';
    server.stdout!.on('data', (d) => (up += d));
    await waitFor('the server in the other lab', () => up.includes('up'), 10_000);
    assert.equal(canConnectFrom(other.ns[1], other.addr0, 7000), true, 'the other lab routes while ours lives');

    ours.destroy();
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1', 'ip_forward stays on while another lab lives');
    assert.equal(canConnectFrom(other.ns[1], other.addr0, 7000), true, 'the other lab still routes after ours is gone');

    server.kill('SIGKILL');
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!other.ns.some((n) => left.includes(n)), `the other lab's namespaces left behind: ${left}`);
    // Other test files may hold labs of their own; the value comes back once none is left.
    if (!/^qmqc\d+x\d+/m.test(left)) assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), saved, 'the last lab put ip_forward back');
  } finally {
    server?.kill('SIGKILL');
    if (child.exitCode === null) child.kill('SIGKILL');
    ours.destroy();
  }
});

test('the sweep deletes namespaces of dead processes and keeps those of live ones', { skip: why }, () => {
  // 4194303 is the highest PID Linux can hand out (pid_max is 32768 by default): not a live process.
  const dead = 'qmqc4194303x0';
  const live = `qmqc${process.pid}x9`;
  execFileSync('ip', ['netns', 'add', dead]);
  execFileSync('ip', ['netns', 'add', live]);
  try {
    const removed = removeStaleNamespaces();
    assert.ok(removed.includes(dead), `removed: ${removed.join(', ')}`);
    assert.ok(!removed.includes(live));
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!left.includes(dead) && left.includes(live), left);
  } finally {
    for (const n of [dead, live]) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
});
