// What every bench reads first: the repository root and its command-line options.
import { fileURLToPath } from 'node:url';

/** The repository root (with a trailing slash), whatever the working directory. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The bench's command-line arguments. */
export const args = process.argv.slice(2);

/** The value after `--name`, or `def` when the option is not given. */
export const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
