import { QmqError } from '../../../util/errors.js';

export function requireHeader(headers: Record<string, string>, name: string, command: string): string {
  const v = headers[name];
  if (v === undefined || v === '') throw new QmqError('MISSING_HEADER', `${command} frame is missing the required "${name}" header`);
  return v;
}
