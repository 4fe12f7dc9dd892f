import { randomBytes } from 'node:crypto';
import { InvalidParameterError } from '../../kernel/index.js';

/** dockerd's names.RestrictedNameChars: the name becomes a directory, so nothing may escape the root. */
export const RESTRICTED_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const RESTRICTED_NAME = new RegExp(`^${RESTRICTED_NAME_CHARS}+$`);

/** The local driver's validateName, with its wording (the caller adds `create <name>: `). */
export function validateVolumeName(name: string): void {
  if (name.length === 1) {
    throw new InvalidParameterError('volume name is too short, names should be at least two alphanumeric characters');
  }
  if (!RESTRICTED_NAME.test(name)) {
    throw new InvalidParameterError(
      `${goQuote(name)} includes invalid characters for a local volume name, only ${goQuote(RESTRICTED_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

/** Anonymous volumes get a random 64-hex name, as dockerd's stringid.GenerateRandomID. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

/** Go's %q for the plain strings that reach these messages. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}
