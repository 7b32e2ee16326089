/**
 * Byte sizes and durations written the way ActiveMQ's XML accepts them.
 *
 * Sizes follow ActiveMQ's `MemoryPropertyEditor`: an integer with an optional `b`, `k[b]`,
 * `m[b]` or `g[b]` unit (case-insensitive, spaces allowed), in multiples of 1024.
 * Durations are plain milliseconds where ActiveMQ takes a `long` (checkpointInterval,
 * lockKeepAlivePeriod, …); `zkSessionTimeout` in the replicated LevelDB store also takes a unit
 * ("2s"), so we accept `ms`, `s`, `m` and `h` everywhere a duration is read.
 */

const SIZE_PATTERN = /^\s*(\d+)\s*(b|kb?|mb?|gb?|tb?)?\s*$/i;
const SIZE_MULTIPLIERS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export const SIZE_FORMS = 'a byte count or a number with a unit: "512", "64 kb", "100 mb", "1gb"';
export const DURATION_FORMS = 'milliseconds ("5000") or a number with a unit: "500ms", "2s", "1m", "1h"';

/** Returns the size in bytes, or undefined when the text is not a size. */
export function parseSizeBytes(text: string): number | undefined {
  const m = SIZE_PATTERN.exec(text);
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toLowerCase().charAt(0);
  const bytes = Number(m[1]) * SIZE_MULTIPLIERS[unit === 'b' ? 'b' : unit];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const DURATION_PATTERN = /^\s*(\d+)\s*(ms|s|m|h)?\s*$/i;
const DURATION_MULTIPLIERS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Returns the duration in milliseconds, or undefined when the text is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  if (m === null) return undefined;
  const ms = Number(m[1]) * DURATION_MULTIPLIERS[(m[2] ?? '').toLowerCase()];
  return Number.isSafeInteger(ms) ? ms : undefined;
}
