/**
 * Fault schedule and injectors. The schedule is a pure function of the seed, the run length
 * and the fault kinds, so `--seed N` replays the same faults at the same offsets. Faults run
 * one at a time: inject, hold, heal, wait for a master.
 */
import type { BrokerNode } from './broker-node.js';
import type { ChaosCluster } from './cluster.js';
import { findJournalDirs, flipBitInOldSegment, truncateLastSegment } from './disk-faults.js';
import type { HistoryRecorder } from './recorder.js';
import type { Rng } from './rng.js';

export type FaultKind = 'kill' | 'pause' | 'zk' | 'partition' | 'disk';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'zk', 'partition', 'disk'];

/** Every variant per kind; a cluster says which `kind:variant` keys it supports. */
export const FAULT_VARIANTS: Record<FaultKind, readonly string[]> = {
  kill: ['master', 'slave'],
  pause: ['master', 'slave'],
  zk: ['one', 'two'],
  partition: ['isolate-master', 'isolate-slave', 'split', 'cut-master'],
  disk: ['truncate-last', 'flip-old'],
};

export interface ScheduledFault {
  /** Offset from the start of the workload. */
  atMs: number;
  kind: FaultKind;
  variant: string;
  /** How long the fault holds before it is healed. */
  holdMs: number;
}

export interface ScheduleOptions {
  durationMs: number;
  kinds: readonly FaultKind[];
  /** `kind:variant` keys the cluster can do. */
  supported: ReadonlySet<string>;
  /** Longer than the ZooKeeper session timeout / lease, so a pause really costs mastership. */
  pauseMs: number;
  warmupMs?: number;
  /** Quiet time after each heal, for the cluster to settle and the failover to be measured. */
  minGapMs?: number;
  maxGapMs?: number;
}

export function planFaults(rng: Rng, o: ScheduleOptions): ScheduledFault[] {
  const choices = o.kinds.flatMap((kind) => FAULT_VARIANTS[kind].filter((v) => o.supported.has(`${kind}:${v}`)).map((variant) => ({ kind, variant })));
  if (choices.length === 0) return [];
  const minGapMs = o.minGapMs ?? 3000;
  const maxGapMs = o.maxGapMs ?? 6000;
  const out: ScheduledFault[] = [];
  let t = o.warmupMs ?? 2000;
  for (;;) {
    const { kind, variant } = rng.pick(choices);
    // A partition sometimes heals inside the session timeout / lease (a stall) and sometimes
    // outlasts it (a failover, with the cut-off node still believing it leads).
    // A master cut off from its peers only is held past the ~12.5 s before it stands aside (its
    // slaves count as gone 2.5 s after their last ack, then a 10 s grace).
    const holdMs =
      kind === 'pause' ? o.pauseMs + rng.int(1000) : variant === 'cut-master' ? 15_000 + rng.int(o.pauseMs) : kind === 'partition' ? 1000 + rng.int(o.pauseMs) : 500 + rng.int(2500);
    // Leave room to heal and to see acks afterwards before the run ends.
    if (t + holdMs + minGapMs > o.durationMs) break;
    out.push({ atMs: t, kind, variant, holdMs });
    t += holdMs + minGapMs + rng.int(Math.max(1, maxGapMs - minGapMs));
  }
  return out;
}

export function parseFaultKinds(text: string): FaultKind[] {
  const kinds = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of kinds) if (!FAULT_KINDS.includes(k as FaultKind)) throw new Error(`unknown fault '${k}'; known: ${FAULT_KINDS.join(', ')}`);
  return kinds as FaultKind[];
}

interface Injected {
  target: string;
  heal(): Promise<void>;
}

async function pickNode(cluster: ChaosCluster, role: 'master' | 'slave', rng: Rng): Promise<BrokerNode | undefined> {
  const master = await cluster.master();
  if (role === 'master') return master;
  const slaves = cluster.nodes.filter((n) => n !== master && n.running && !n.paused);
  return slaves.length ? rng.pick(slaves) : undefined;
}

async function inject(cluster: ChaosCluster, f: ScheduledFault, rng: Rng): Promise<Injected | undefined> {
  switch (f.kind) {
    case 'kill': {
      const node = await pickNode(cluster, f.variant as 'master' | 'slave', rng);
      if (!node) return undefined;
      await node.kill();
      return { target: `${f.variant} ${node.name}`, heal: async () => node.start() };
    }
    case 'pause': {
      const node = await pickNode(cluster, f.variant as 'master' | 'slave', rng);
      if (!node) return undefined;
      node.pause();
      return { target: `${f.variant} ${node.name}`, heal: async () => node.resume() };
    }
    case 'zk': {
      const zk = cluster.zk;
      if (!zk) return undefined;
      const ids = [...zk.ids].sort(() => rng.next() - 0.5).slice(0, f.variant === 'two' ? 2 : 1);
      for (const id of ids) await zk.killNode(id);
      return {
        target: `zk ${ids.join('+')}`,
        heal: async () => {
          for (const id of ids) await zk.startNode(id);
        },
      };
    }
    case 'partition': {
      const lab = cluster.network;
      if (!lab) return undefined;
      const master = await cluster.master();
      const mi = master ? cluster.nodes.indexOf(master) : 0;
      const others = cluster.nodes.map((_, i) => i).filter((i) => i !== mi);
      if (f.variant === 'isolate-master') {
        lab.isolate(mi);
        return { target: `isolate master ${cluster.nodes[mi]!.name}`, heal: async () => lab.heal() };
      }
      if (f.variant === 'cut-master') {
        // The master loses its peers only: ZooKeeper and the clients still reach it (DESIGN §4 rule 7).
        for (const o of others) lab.cut(mi, o);
        return { target: `cut master ${cluster.nodes[mi]!.name} from its peers (ZooKeeper and clients still reach it)`, heal: async () => lab.heal() };
      }
      if (f.variant === 'isolate-slave') {
        const si = rng.pick(others);
        lab.isolate(si);
        return { target: `isolate slave ${cluster.nodes[si]!.name}`, heal: async () => lab.heal() };
      }
      // Split 2 from 1: the lone node is picked at random, master or not. ZooKeeper and the
      // database stay with the majority; clients still reach both sides, so a lone master that
      // kept serving would be a split brain the history shows.
      const lone = rng.int(cluster.nodes.length);
      lab.split([lone], cluster.nodes.map((_, i) => i).filter((i) => i !== lone));
      lab.cutPorts(lone, cluster.servicePorts?.(lone) ?? []);
      return { target: `split ${cluster.nodes[lone]!.name} from the rest and from ZooKeeper/database`, heal: async () => lab.heal() };
    }
    case 'disk': {
      // Only ever a minority node: a slave, stopped while its journal is damaged.
      const node = await pickNode(cluster, 'slave', rng);
      if (!node) return undefined;
      await node.kill();
      const dirs = findJournalDirs(node.spec.dataDir);
      const damage = dirs.length === 0 ? undefined : f.variant === 'truncate-last' ? truncateLastSegment(dirs[0]!, rng) : flipBitInOldSegment(dirs[0]!, rng);
      return { target: `${f.variant} on ${node.name}${damage ? `: ${damage.detail} in ${damage.file}` : ' (no journal yet)'}`, heal: async () => node.start() };
    }
  }
}

export interface FaultRunOptions {
  cluster: ChaosCluster;
  schedule: readonly ScheduledFault[];
  rng: Rng;
  recorder: HistoryRecorder;
  startMs: number;
  /** Stop early (the run was interrupted). */
  stopped: () => boolean;
  log: (line: string) => void;
}

/** Runs the schedule: each fault is injected at its offset, held, healed, and followed by a wait for a master. */
export async function runFaults(o: FaultRunOptions): Promise<void> {
  for (const f of o.schedule) {
    const waitMs = o.startMs + f.atMs - Date.now();
    if (waitMs > 0) await sleepUnless(waitMs, o.stopped);
    if (o.stopped()) return;
    const invokeMs = Date.now();
    const injected = await inject(o.cluster, f, o.rng);
    if (!injected) {
      o.log(`fault ${f.kind}:${f.variant} skipped: no target`);
      continue;
    }
    o.recorder.add({ op: 'fault', kind: f.kind, target: injected.target, invokeMs, completeMs: Date.now(), outcome: 'ok' });
    o.log(`fault ${f.kind}: ${injected.target} for ${f.holdMs} ms`);
    await sleepUnless(f.holdMs, () => false);
    const healMs = Date.now();
    await injected.heal();
    o.recorder.add({ op: 'heal', kind: f.kind, target: injected.target, invokeMs: healMs, completeMs: Date.now(), outcome: 'ok' });
    try {
      const m = await o.cluster.waitServing(60_000);
      o.log(`healed ${f.kind}; master ${m.name}`);
    } catch (e) {
      o.log(`after healing ${f.kind}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !stopped()) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
