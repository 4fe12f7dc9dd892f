// esbuild plugin: node builtins that berthd needs only for some requests
// (registry TLS, gzip, DNS, hashing …) are loaded on first use instead of at
// start-up.
//
// Node compiles a builtin that is not in its own start-up snapshot when it is
// first required; for crypto, tls, https, zlib, dgram and the rest that is
// ~15 ms of every berthd start, spent for code a ping never runs. Each listed
// builtin is replaced in the bundle by an object with one getter per export
// (the export names are read here, from the same Node that runs berthd) that
// loads the real module on first access. esbuild's ESM interop copies exports
// as getters, so `import { createHash } from 'node:crypto'` stays lazy too.
import { builtinModules, createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Builtins made lazy; never one whose module value is itself called (assert) or that is used at load (tty). */
// child_process brings dgram, net's socket lists and its internals with it: no
// process is spawned by a start, only by container and image operations.
// http, async_hooks and worker_threads are also kept out of berthd's startup
// snapshot (scripts/snapshot-entry.cjs): node:http's parser binding cannot be
// serialized, and none of them is verified to hold no run-time state there.
export const LAZY_BUILTINS = ['http', 'async_hooks', 'worker_threads', 'crypto', 'tls', 'https', 'zlib', 'dns', 'dns/promises', 'readline', 'dgram', 'v8', 'child_process', 'timers/promises'];

export const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const names = LAZY_BUILTINS.filter((n) => builtinModules.includes(n));
    const escaped = names.map((n) => n.replace(/[/]/g, '\\/'));
    b.onResolve({ filter: new RegExp(`^(node:)?(${escaped.join('|')})$`) }, (args) => ({
      path: args.path.replace(/^node:/, ''),
      namespace: 'lazy-builtin',
    }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const keys = Object.getOwnPropertyNames(require(`node:${args.path}`)).filter((k) => k !== 'default');
      return {
        loader: 'js',
        contents: [
          `const name = ${JSON.stringify(`node:${args.path}`)};`,
          // process.getBuiltinModule (Node >= 20.16) is not a literal require, so esbuild leaves it alone.
          'let real;',
          'const load = () => (real ??= process.getBuiltinModule ? process.getBuiltinModule(name) : require(name));',
          // While the startup snapshot is built, constants of this node binary
          // that modules read at load (http.METHODS) come from the entry's
          // recorded data, so the builtin itself stays out of the snapshot.
          'const building = (k) => { const d = real === undefined ? globalThis[Symbol.for("berth.snapshot.builtinData")]?.[name] : undefined; return d !== undefined && Object.hasOwn(d, k) ? d : undefined; };',
          'const lazy = {};',
          `for (const k of ${JSON.stringify(keys)}) Object.defineProperty(lazy, k, { enumerable: true, get: () => (building(k) ?? load())[k] });`,
          'module.exports = lazy;',
        ].join('\n'),
      };
    });
  },
};
