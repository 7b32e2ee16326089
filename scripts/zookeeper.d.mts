// Types for scripts/zookeeper.mjs (plain JS so that `npm test` can run it before tsx is involved).
export interface EnsembleNode {
  id: number;
  clientPort: number;
  pid: number;
  dataDir: string;
}

export type ZkMode = 'leader' | 'follower' | 'standalone' | null;

export interface Ensemble {
  dir: string;
  tickTimeMs: number;
  connectString: string;
  readonly nodes: EnsembleNode[];
  mode(id: number, timeoutMs?: number): Promise<string | null>;
  waitServing(id: number, timeoutMs?: number): Promise<string>;
  killNode(id: number, signal?: NodeJS.Signals): Promise<void>;
  startNode(id: number, opts?: { wait?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export function startEnsemble(opts?: { dir?: string; nodes?: number; tickTimeMs?: number; heapMb?: number; startTimeoutMs?: number }): Promise<Ensemble>;
export function serverMode(port: number, timeoutMs?: number): Promise<string | null>;
export function fourLetter(port: number, cmd: string, timeoutMs?: number): Promise<string | null>;
