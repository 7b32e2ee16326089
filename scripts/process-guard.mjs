// Shared by the service scripts (zookeeper.mjs, postgres.mjs): free loopback ports, and a guard
// that takes the servers a process started down with it if it exits without stopping them.
import net from 'node:net';

/** `count` distinct ports the OS had free a moment ago (all held open together while picked). */
export async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
  }
}

/**
 * A set of server PIDs that are killed (after SIGCONT, in case they are frozen) if this process
 * exits while they still run. `signal` is how to stop them in a hurry.
 */
export function exitGuard(signal) {
  const live = new Set();
  let installed = false;
  return {
    add(pid) {
      if (!installed) {
        installed = true;
        process.on('exit', () => {
          for (const p of live) {
            try {
              process.kill(p, 'SIGCONT');
              process.kill(p, signal);
            } catch {
              // already gone
            }
          }
        });
      }
      live.add(pid);
    },
    delete(pid) {
      live.delete(pid);
    },
  };
}
