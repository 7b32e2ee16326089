import { QmqError } from '../../util/errors.js';

/** Longer selectors are cut in error messages so an ERROR frame stays readable. */
const MAX_QUOTED_CHARS = 120;

/**
 * Builds the INVALID_SELECTOR error every selector failure uses. `position` is a 0-based offset
 * into the selector text, so a client can point at the exact character.
 */
export function selectorError(text: string, position: number, what: string): QmqError {
  const shown = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
  return new QmqError('INVALID_SELECTOR', `invalid selector ${JSON.stringify(shown)}: ${what} at position ${position}`, {
    detail: what,
  });
}
