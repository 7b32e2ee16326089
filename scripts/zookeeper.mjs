#!/usr/bin/env node
// Runs a real ZooKeeper (Debian's `zookeeper` package) as plain java processes, for the tests:
// one standalone server or an ensemble on loopback, on ports the OS picks, with a short tickTime
// so sessions can be short. Every process is tracked and stopped by its PID.
//
//   node scripts/zookeeper.mjs start [--nodes 3] [--dir DIR]    prints the connect string, runs until SIGINT/SIGTERM
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitGuard, freePorts } from './process-guard.mjs';

const ZK_JAR = '/usr/share/java/zookeeper.jar';
// The manifest class path has no SLF4J binding; without these two the server logs nothing.
const CLASSPATH = [ZK_JAR, '/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'].join(':');

/** Asks the OS for `count` distinct free ports, holding them all until every one is known. */

/** Sends a four-letter command; resolves with the reply, or null if the server does not answer in time. */
export function fourLetter(port, cmd, timeoutMs = 1000) {
  return new Promise((resolve) => {
    let out = '';
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, timeoutMs);
    sock.on('connect', () => sock.write(cmd));
    sock.on('data', (d) => (out += d.toString('utf8')));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(out.length > 0 ? out : null);
    });
  });
}

/** `leader`, `follower`, `standalone`, or null (down, frozen, or not serving: no quorum). */
export async function serverMode(port, timeoutMs = 1000) {
  const reply = await fourLetter(port, 'srvr', timeoutMs);
  const m = reply && /^Mode: (\w+)/m.exec(reply);
  return m ? m[1] : null;
}

function zooCfg({ tickTimeMs, dataDir, clientPort, servers }) {
  const lines = [
    `tickTime=${tickTimeMs}`,
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    // Otherwise Jetty's AdminServer listens on 0.0.0.0:8080 and two ensembles collide.
    'admin.enableServer=false',
    '4lw.commands.whitelist=srvr,mntr,ruok,stat,cons',
    // Snapshots and logs of a test server are tiny; keep the disk quiet.
    'autopurge.purgeInterval=0',
    'preAllocSize=1024',
  ];
  for (const s of servers) lines.push(`server.${s.id}=127.0.0.1:${s.quorumPort}:${s.electionPort}`);
  return lines.join('\n') + '\n';
}

const LOG4J = [
  'log4j.rootLogger=INFO, CONSOLE',
  'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
  'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n',
].join('\n');

// If the owner exits without stop(), take the servers with it rather than leak JVMs.
const live = exitGuard('SIGKILL');

/**
 * Starts `nodes` ZooKeeper servers (1 = standalone) and waits until each reports leader,
 * follower or standalone through `srvr`.
 * @param {{ dir?: string, nodes?: number, tickTimeMs?: number, heapMb?: number, startTimeoutMs?: number }} opts
 */
export async function startEnsemble(opts = {}) {
  if (!existsSync(ZK_JAR)) throw new Error(`ZooKeeper is not installed (${ZK_JAR}); apt-get install zookeeper`);
  const count = opts.nodes ?? 3;
  const tickTimeMs = opts.tickTimeMs ?? 500;
  const heapMb = opts.heapMb ?? 128;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  // A directory made here is ours to remove on stop(); a caller's stays theirs.
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'qmq-zk-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'log4j.properties'), LOG4J + '\n');

  const ports = await freePorts(count * 3);
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const id = i + 1;
    const nodeDir = join(dir, `node${id}`);
    const dataDir = join(nodeDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    nodes.push({ id, clientPort: ports[i * 3], quorumPort: ports[i * 3 + 1], electionPort: ports[i * 3 + 2], dataDir, nodeDir, pid: 0, child: null });
  }
  for (const n of nodes) {
    writeFileSync(join(n.dataDir, 'myid'), `${n.id}\n`);
    const cfg = zooCfg({ tickTimeMs, dataDir: n.dataDir, clientPort: n.clientPort, servers: count > 1 ? nodes : [] });
    writeFileSync(join(n.nodeDir, 'zoo.cfg'), cfg);
  }

  function spawnNode(n) {
    const logFd = openSync(join(n.nodeDir, 'zk.log'), 'a');
    const child = spawn(
      'java',
      [
        `-Xmx${heapMb}m`,
        // A small test server: start fast, stay small (3 JVMs share 2 cores).
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
        '-cp',
        CLASSPATH,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(n.nodeDir, 'zoo.cfg'),
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    n.child = child;
    n.pid = child.pid;
    live.add(child.pid);
    const pid = child.pid;
    n.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      live.delete(pid);
      resolve({ code, signal });
    }));
  }

  async function waitServing(n, timeoutMs = startTimeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mode = await serverMode(n.clientPort, 500);
      if (mode === 'leader' || mode === 'follower' || mode === 'standalone') return mode;
      if (n.child && n.child.exitCode !== null) {
        throw new Error(`ZooKeeper node ${n.id} exited with code ${n.child.exitCode}; see ${join(n.nodeDir, 'zk.log')}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`ZooKeeper node ${n.id} (port ${n.clientPort}) not serving after ${timeoutMs} ms; see ${join(n.nodeDir, 'zk.log')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function node(id) {
    const n = nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no ZooKeeper node ${id}`);
    return n;
  }

  async function killNode(id, signal = 'SIGKILL') {
    const n = node(id);
    if (!n.child || n.child.exitCode !== null || n.child.signalCode !== null) return;
    n.child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    // A stopped JVM acts on SIGTERM only once it runs again.
    if (signal !== 'SIGKILL') n.child.kill('SIGCONT');
    const grace = new Promise((r) => setTimeout(r, 5000, 'timeout'));
    if ((await Promise.race([n.exited, grace])) === 'timeout') {
      n.child.kill('SIGKILL');
      await n.exited;
    }
  }

  for (const n of nodes) spawnNode(n);
  const ensemble = {
    dir,
    tickTimeMs,
    connectString: nodes.map((n) => `127.0.0.1:${n.clientPort}`).join(','),
    get nodes() {
      return nodes.map((n) => ({ id: n.id, clientPort: n.clientPort, pid: n.pid, dataDir: n.dataDir }));
    },
    /** `leader` | `follower` | `standalone` | null. */
    mode: (id, timeoutMs) => serverMode(node(id).clientPort, timeoutMs),
    waitServing: (id, timeoutMs) => waitServing(node(id), timeoutMs),
    killNode,
    /** Starts a node that was killed, with its data; resolves when it serves again. */
    async startNode(id, { wait = true } = {}) {
      const n = node(id);
      if (n.child && n.child.exitCode === null && n.child.signalCode === null) throw new Error(`ZooKeeper node ${id} is still running (pid ${n.pid})`);
      spawnNode(n);
      if (wait) await waitServing(n);
    },
    async stop() {
      await Promise.all(nodes.map((n) => killNode(n.id, 'SIGKILL')));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => waitServing(n)));
  } catch (e) {
    await ensemble.stop();
    throw e;
  }
  return ensemble;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args[0] !== 'start') {
    console.error('usage: node scripts/zookeeper.mjs start [--nodes N] [--dir DIR] [--tick MS]');
    process.exit(2);
  }
  const t0 = Date.now();
  const e = await startEnsemble({ nodes: Number(opt('--nodes') ?? 3), dir: opt('--dir'), tickTimeMs: opt('--tick') ? Number(opt('--tick')) : undefined });
  console.log(JSON.stringify({ connectString: e.connectString, dir: e.dir, nodes: e.nodes, startedInMs: Date.now() - t0 }));
  const stop = async () => {
    await e.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
