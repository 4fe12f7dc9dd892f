/**
 * daemon.json handling, dockerd-compatible: the key table, parsing, flag
 * merging, validation, startup load and SIGHUP reload. The daemon entry point
 * uses loadDaemonConfig/reloadDaemonConfig; the rest is exported for tools
 * (e.g. `berthd --validate`) and tests.
 */
export * from './daemon-config.js';
export {
  KEYS, BUILTIN_RUNTIMES, IGNORED_KEYS, REMOVED_KEYS, defaultOf, specOf,
  type KeySpec, type JsonType, type FieldType, type ReloadRule, type Validator,
} from './keys.js';
export { parseConfigBytes, parseConfigObject } from './parse.js';
export { mergeConfig, type MergeOptions } from './merge.js';
export { validateConfig, configProblems } from './validate.js';
export {
  loadDaemonConfig, reloadDaemonConfig,
  type LoadOptions, type ReloadOptions, type ReloadResult,
} from './load.js';
