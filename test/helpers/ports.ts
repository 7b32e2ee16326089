import fs from 'node:fs';
import net from 'node:net';

/** A port that was free a moment ago (the OS picked it). For HTTP, where 0 means "off". */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Whether process `pid` has a listening TCP socket on `port` (from /proc: its socket inodes
 * against the kernel's LISTEN table). Exact where a connection attempt is not: once a node has
 * let its port go, another test's process may be given the same number, and a connect to a free
 * ephemeral port can even connect to itself.
 */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A' && inodes.has(f[9])) return true;
    }
  }
  return false;
}
