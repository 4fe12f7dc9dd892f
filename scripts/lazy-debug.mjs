// esbuild plugin: the `debug` package (@koa/router's tracing) is evaluated
// only when the DEBUG environment variable asks for tracing.
//
// Loading it at every start costs more than its size suggests: it loads
// node's tty module, and probes for the optional `supports-color` package
// with a require() that searches every node_modules directory up to / and
// throws when, as usual, it is not installed. Without DEBUG, every debug()
// call of the real module is a no-op, which is what the stand-in does; with
// DEBUG set, each debugger is the real module's, loaded on first use.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export const lazyDebug = {
  name: 'lazy-debug',
  setup(b) {
    b.onResolve({ filter: /^debug$/ }, (args) => ({
      // The real module, as the importer would have resolved it.
      path: createRequire(`${args.resolveDir}/`).resolve('debug'),
      namespace: 'lazy-debug',
    }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-debug' }, (args) => ({
      loader: 'js',
      resolveDir: dirname(args.path),
      contents: [
        // DEBUG is read when a debugger is first used, never while modules
        // load: berthd's startup snapshot evaluates them at build time.
        `const load = () => require(${JSON.stringify(args.path)});`,
        'let tracing;',
        'const on = () => (tracing ??= Boolean(process.env.DEBUG));',
        'function debug(namespace) {',
        '  let impl;',
        '  const real = () => (impl ??= on() ? load()(namespace) : undefined);',
        '  const d = (...a) => { const r = real(); if (r) r(...a); };',
        '  d.namespace = namespace;',
        '  Object.defineProperty(d, "enabled", { get: () => Boolean(real()?.enabled), set: (v) => { const r = real(); if (r) r.enabled = v; } });',
        '  d.extend = (sub, delimiter = ":") => debug(`${namespace}${delimiter}${sub}`);',
        '  d.destroy = () => true;',
        '  return d;',
        '}',
        'debug.enabled = (ns) => (on() ? load().enabled(ns) : false);',
        'debug.enable = (ns) => { if (on()) load().enable(ns); };',
        'debug.disable = () => (on() ? load().disable() : "");',
        'debug.debug = debug;',
        'debug.default = debug;',
        'module.exports = debug;',
      ].join('\n'),
    }));
  },
};
