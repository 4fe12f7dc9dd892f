import { InvalidParameterError } from '../../kernel/index.js';

/**
 * Layer ids become file, directory or device names: no separators, no NUL,
 * no dot names, at most 255 bytes; a driver may reserve names of its own
 * (overlay2's `l` link directory).
 */
export function validLayerId(id: string, reserved: readonly string[] = []): boolean {
  return id.length > 0 && id.length <= 255 && !id.includes('/') && !id.includes('\0') && id !== '.' && id !== '..' && !reserved.includes(id);
}

/** Throws InvalidParameterError for an id validLayerId refuses. */
export function checkLayerId(id: string, reserved: readonly string[] = []): void {
  if (!validLayerId(id, reserved)) throw new InvalidParameterError(`invalid layer id ${JSON.stringify(id)}`);
}
