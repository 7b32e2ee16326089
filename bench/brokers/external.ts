/** A broker given with --url: the bench only connects to it, never starts or stops it. */
import type { BenchBroker } from './types.js';

export function externalBroker(url: { host: string; port: number; label: string }, pid: number | undefined, login?: string, passcode?: string): BenchBroker {
  return {
    label: url.label,
    host: url.host,
    port: url.port,
    login,
    passcode,
    pid: () => pid,
    assertRunning() {},
    async stop() {},
  };
}
