import { InvalidParameterError } from '../../kernel/index.js';

/** Task and exec ids name directories and conmon sessions: no path separators, no leading dot or dash. */
const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws InvalidParameterError (`invalid task id: …`, `invalid exec id: …`) for an id that cannot be a file name. */
export function assertValidId(kind: 'task' | 'exec', id: string): void {
  if (!VALID_ID.test(id)) throw new InvalidParameterError(`invalid ${kind} id: ${id}`);
}
