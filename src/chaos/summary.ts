/** The human summary of a checked history: the issue-8 table, then the evidence behind any failure. */
import type { CheckResult } from './check-history.js';

function ms(v: number | null): string {
  return v === null ? '-' : `${Math.round(v)} ms`;
}

export function formatSummary(r: CheckResult, title = 'chaos run'): string {
  const rows: Array<[string, string]> = [
    ['acked', String(r.acked)],
    ['lost', String(r.lost)],
    ['lost (ack:auto, at most once)', String(r.lostAtMostOnce)],
    ['duplicated', String(r.duplicated)],
    ['redelivered', String(r.redelivered)],
    ['unexpected', String(r.unexpected)],
    ['recovered', `${r.recovered} of ${r.inDoubt} in doubt`],
    ['corrupt', String(r.corrupt)],
    ['not sent (refused, aborted)', String(r.failed)],
    ['deliveries', `${r.deliveries} (${r.delivered} distinct)`],
    ['faults', `${r.failovers.length}${r.unrecoveredFaults ? ` (${r.unrecoveredFaults} never followed by an ack)` : ''}`],
    ['failover median / max', `${ms(r.failoverMedianMs)} / ${ms(r.failoverMaxMs)}`],
    ['max_unavailable_ms', String(Math.round(r.maxUnavailableMs))],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [`${title}: ${r.violations.length === 0 ? 'PASS' : 'FAIL'}`];
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  for (const v of r.violations) lines.push(`  violation: ${v}`);
  const ex = r.examples;
  if (ex.lost.length) lines.push(`  lost e.g.: ${ex.lost.map((e) => `${e.id}@${e.receiver}`).join(', ')}`);
  if (ex.unexpected.length) lines.push(`  unexpected e.g.: ${ex.unexpected.map((e) => `${e.id}@${e.receiver} (${e.why})`).join(', ')}`);
  if (ex.duplicated.length) lines.push(`  duplicated e.g.: ${ex.duplicated.map((e) => `${e.id}@${e.receiver}`).join(', ')}`);
  if (ex.corrupt.length) lines.push(`  corrupt e.g.: ${ex.corrupt.map((e) => `${e.id}@${e.receiver}`).join(', ')}`);
  for (const f of r.failovers) lines.push(`  fault ${f.kind} ${f.target} at ${new Date(f.atMs).toISOString()}: failover ${ms(f.failoverMs)}`);
  return lines.join('\n') + '\n';
}
