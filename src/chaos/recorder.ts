/** Collects the history of a run, in memory, stamping operations with wall-clock times. */
import { writeFileSync } from 'node:fs';
import type { HistoryOp, Outcome } from './history.js';

type Body<T> = T extends HistoryOp ? Omit<T, 'invokeMs' | 'completeMs' | 'outcome'> : never;

export class HistoryRecorder {
  readonly ops: HistoryOp[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Records an operation that already finished. */
  add(op: HistoryOp): void {
    this.ops.push(op);
  }

  /**
   * Runs `fn`, records it with its times and the outcome `classify` gives its error (or `ok`),
   * and returns what `fn` returned, or undefined if it threw.
   */
  async time<T>(entry: Body<HistoryOp>, fn: () => Promise<T>, classify: (e: unknown) => Outcome): Promise<{ value?: T; outcome: Outcome; error?: unknown }> {
    const invokeMs = this.now();
    try {
      const value = await fn();
      this.ops.push({ ...entry, invokeMs, completeMs: this.now(), outcome: 'ok' } as HistoryOp);
      return { value, outcome: 'ok' };
    } catch (error) {
      const outcome = classify(error);
      this.ops.push({ ...entry, invokeMs, completeMs: this.now(), outcome } as HistoryOp);
      return { outcome, error };
    }
  }

  writeJson(file: string): void {
    writeFileSync(file, JSON.stringify(this.ops) + '\n');
  }
}
