import { decideMaster } from '../ha/election.js';
import { ZkSession } from '../ha/zk-session.js';
import { decodeMember, electionMembers, EPOCH_NODE, type ListedMember } from '../ha/zookeeper/elector-member.js';

/** `quorummq status`: reads a node's `/api/status` and prints it for a person (or as JSON). */
export async function runStatus(opts: { http: string; json?: boolean; zk?: string; path?: string; replicas?: number }): Promise<void> {
  if (opts.zk !== undefined) return runZkStatus({ zk: opts.zk, path: opts.path ?? '/default', json: opts.json, replicas: opts.replicas });
  let res: Response;
  try {
    res = await fetch(new URL('/api/status', opts.http), { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    process.stderr.write(`quorummq status: cannot reach ${opts.http}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const status = (await res.json()) as Record<string, unknown> & {
    destinations?: Array<{ kind: string; name: string; depth: number; consumerCount: number; enqueueCount: number; dequeueCount: number }>;
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    return;
  }
  const lines = [
    `broker   ${status.brokerName}  (QuorumMQ ${status.version})`,
    `role     ${status.role}  mode=${status.mode}  store=${status.store}${status.epoch === undefined || status.epoch === null ? '' : `  epoch=${status.epoch}`}`,
    `uptime   ${Math.round(Number(status.uptimeMs) / 1000)} s`,
  ];
  if (status.reason) lines.push(`reason   ${status.reason}`);
  // Shared file system mode: who holds the store lock, as the lock file says.
  const lockInfo = status.ha as { lockFile?: string; lockHolder?: { nodeId: string; epoch: number; acquiredAt?: string } | null } | undefined;
  if (lockInfo?.lockFile) lines.push(`lock     ${lockInfo.lockFile}  ${lockInfo.lockHolder ? `held by ${lockInfo.lockHolder.nodeId} (epoch ${lockInfo.lockHolder.epoch}${lockInfo.lockHolder.acquiredAt ? `, since ${lockInfo.lockHolder.acquiredAt}` : ''})` : 'names no holder'}`);
  // JDBC master/slave: who holds the lease row and when it lapses unless renewed.
  const lease = status.ha as { leaseHolder?: string | null; leaseEpoch?: number; leaseExpiresAt?: string; leaseExpiresInMs?: number; database?: string } | undefined;
  if (lease && 'leaseHolder' in lease) {
    const expiry = lease.leaseExpiresAt === undefined ? '' : `, expires ${lease.leaseExpiresAt} (in ${lease.leaseExpiresInMs} ms)`;
    lines.push(`lease    ${lease.database}  held by ${lease.leaseHolder ?? 'nobody'} (epoch ${lease.leaseEpoch ?? '?'}${expiry})`);
  }
  const dests = status.destinations ?? [];
  if (dests.length > 0) {
    lines.push('', 'destination                                   depth  consumers   enqueued   dequeued');
    for (const d of dests) {
      lines.push(`${`${d.kind}://${d.name}`.padEnd(44)} ${String(d.depth).padStart(6)} ${String(d.consumerCount).padStart(10)} ${String(d.enqueueCount).padStart(10)} ${String(d.dequeueCount).padStart(10)}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

interface GroupReport {
  brokerName: string;
  replicas: number;
  master: string | null;
  decision: string;
  members: Array<{ node: string; role: string; epoch: number | null; position: number | null; lagBytes: number | null; znode: string; reason: string | null; standingAside: string | null }>;
}

/**
 * `quorummq status --zk ADDR --path PATH`: the replication groups as ZooKeeper sees them, read
 * straight from the members' znodes, so it works while no node has a master (the case where an
 * operator most needs it: "who has the newest data, and why is nobody master?").
 */
async function runZkStatus(opts: { zk: string; path: string; json?: boolean; replicas?: number }): Promise<void> {
  let session: ZkSession;
  try {
    session = await ZkSession.connect({ connectString: opts.zk, sessionTimeoutMs: 4000, connectTimeoutMs: 8000 });
  } catch (e) {
    process.stderr.write(`quorummq status: cannot reach ZooKeeper at ${opts.zk}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let members: ListedMember[];
  let epochNode: string | null;
  try {
    const children = await session.getChildrenWithData(opts.path).catch((e: unknown) => {
      if ((e as { getCode?: () => number }).getCode?.() === -101) return [];
      throw e;
    });
    members = children.map((c) => decodeMember(c.name, c.data)).filter((m): m is ListedMember => m !== null);
    epochNode = (await session.getData(`${opts.path}/${EPOCH_NODE}`))?.data.toString('utf8') ?? null;
  } finally {
    await session.close();
  }
  const groups = [...new Set(members.map((m) => m.brokerName))].sort();
  const reports: GroupReport[] = groups.map((brokerName) => {
    const group = members.filter((m) => m.brokerName === brokerName).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const replicas = opts.replicas ?? Math.max(1, ...group.map((m) => m.replicas ?? 0));
    const decision = decideMaster({ members: electionMembers(group, brokerName), replicas, self: group[0].nodeId, brokerName });
    const master = group.find((m) => m.role === 'master');
    return {
      brokerName,
      replicas,
      master: master?.nodeId ?? null,
      decision: decision.reason,
      members: group.map((m) => ({
        node: m.nodeId,
        role: m.role,
        epoch: m.role === 'master' ? m.masterEpoch ?? m.log?.epoch ?? null : m.log?.epoch ?? null,
        position: m.log?.position ?? null,
        lagBytes: master?.log && m.log && m !== master ? Math.max(0, master.log.position - m.log.position) : null,
        znode: m.znode,
        reason: m.reason ?? null,
        standingAside: m.standingAside ?? null,
      })),
    };
  });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ zkAddress: opts.zk, zkPath: opts.path, epoch: epochNode === null ? null : Number(epochNode), groups: reports }, null, 2) + '\n');
    return;
  }
  const lines = [`zookeeper ${opts.zk}  path ${opts.path}  last epoch taken: ${epochNode ?? 'none'}`];
  if (reports.length === 0) lines.push('', 'no broker is registered under this path');
  for (const g of reports) {
    lines.push('', `group ${g.brokerName} (replicas=${g.replicas}): ${g.master ? `master ${g.master}` : 'NO MASTER'}`);
    if (!g.master) lines.push(`  why: ${g.decision}`);
    const rows = [['node', 'role', 'epoch', 'position', 'lag', 'note']];
    for (const m of g.members) {
      rows.push([m.node, m.role, String(m.epoch ?? '-'), String(m.position ?? '-'), m.lagBytes === null ? '-' : String(m.lagBytes), (m.standingAside && !(m.reason ?? '').includes('standing aside') ? '(standing aside) ' : '') + (m.reason ?? '')]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) lines.push('  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
  }
  process.stdout.write(lines.join('\n') + '\n');
}
