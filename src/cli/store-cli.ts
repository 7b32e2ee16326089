import { dumpStore, verifyStore } from './store-command.js';

/** `quorummq store verify|dump DIR`: prints the offline tools' reports. */
export async function runStoreCli(action: 'verify' | 'dump', dir: string, opts: { repair?: boolean; from?: number; to?: number; json?: boolean }): Promise<void> {
  try {
    const report = action === 'verify' ? await verifyStore(dir, { repair: opts.repair ?? false }) : await dumpStore(dir, { from: opts.from, to: opts.to });
    process.stdout.write((opts.json ? JSON.stringify(report) : JSON.stringify(report, null, 2)) + '\n');
    if (action === 'verify' && (report as { ok?: boolean }).ok === false && !opts.repair) process.exit(2);
  } catch (e) {
    process.stderr.write(`quorummq store ${action}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
