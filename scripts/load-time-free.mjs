// esbuild plugins: packages that read the environment, or load a builtin
// that must stay out of berthd's startup snapshot, while they are evaluated
// get that work moved to first use. The startup snapshot
// (scripts/snapshot-entry.cjs) evaluates every module once, at build time,
// and refuses a bundle that reads the environment while it loads.
import { readFileSync } from 'node:fs';

/**
 * `depd` (the deprecation helper of http-errors and cookies, under koa)
 * reads process.cwd() when it is loaded, the environment (NO_DEPRECATION,
 * TRACE_DEPRECATION) and a V8 call-site stack in every `depd(namespace)`
 * call made while its users load. This stand-in keeps its behaviour for
 * berthd: the same `<date> <namespace> deprecated <message> at <file:line:col>`
 * line on stderr, once per message and call site, the 'deprecation' process
 * event when someone listens, --no-deprecation / NO_DEPRECATION to silence
 * it, --trace-deprecation / TRACE_DEPRECATION for a stack, and
 * deprecate.function / deprecate.property wrappers; everything it reads is
 * read when a deprecated thing is used.
 */
const DEPD = `
'use strict';
const { relative } = require('node:path');
function listed(list, namespace) {
  const ns = String(namespace).toLowerCase();
  return (list || '').split(/[ ,]+/).some((v) => v && (v === '*' || v.toLowerCase() === ns));
}
// The caller of the deprecated thing: \`depth\` frames above \`skip\` (deprecate()
// is called inside the deprecated function, a wrapper is the function itself).
function callSite(skip, depth) {
  const holder = {};
  Error.captureStackTrace(holder, skip);
  const lines = String(holder.stack || '').split('\\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  const frame = lines[depth] || lines[lines.length - 1] || '<anonymous>';
  const m = /\\(?([^()\\s]+):(\\d+):(\\d+)\\)?$/.exec(frame);
  return { lines: lines.slice(depth), key: lines.slice(0, depth + 1).join('|'), where: m ? \`\${relative(process.cwd(), m[1])}:\${m[2]}:\${m[3]}\` : frame };
}
function depd(namespace) {
  if (!namespace) throw new TypeError('argument namespace is required');
  const warned = new Set();
  function log(message, skip, depth) {
    const listening = process.listenerCount('deprecation') > 0;
    if (!listening && (process.noDeprecation || listed(process.env.NO_DEPRECATION, namespace))) return;
    const site = callSite(skip, depth);
    const key = \`\${message}\\0\${site.key}\`;
    if (warned.has(key)) return;
    warned.add(key);
    if (listening) {
      const err = new Error(message);
      err.name = 'DeprecationError';
      err.namespace = namespace;
      err.stack = \`DeprecationError: \${namespace} deprecated \${message}\\n    at \${site.lines.join('\\n    at ')}\`;
      process.emit('deprecation', err);
      return;
    }
    const traced = process.traceDeprecation || listed(process.env.TRACE_DEPRECATION, namespace);
    const tail = traced ? \`\\n    at \${site.lines.join('\\n    at ')}\` : \` at \${site.where}\`;
    process.stderr.write(\`\${new Date().toUTCString()} \${namespace} deprecated \${message}\${tail}\\n\`);
  }
  function deprecate(message) { log(message, deprecate, 1); }
  deprecate.function = function wrapfunction(fn, message) {
    if (typeof fn !== 'function') throw new TypeError('argument fn must be a function');
    const text = message || \`\${fn.name || '<anonymous>'}\`;
    function deprecatedfn(...args) { log(text, deprecatedfn, 0); return Reflect.apply(fn, this, args); }
    Object.defineProperty(deprecatedfn, 'length', { value: fn.length });
    Object.defineProperty(deprecatedfn, 'name', { value: fn.name });
    return deprecatedfn;
  };
  deprecate.property = function wrapproperty(obj, prop, message) {
    if (!obj || (typeof obj !== 'object' && typeof obj !== 'function')) throw new TypeError('argument obj must be object');
    const descriptor = Object.getOwnPropertyDescriptor(obj, prop);
    if (!descriptor) throw new TypeError('must call property on owner object');
    if (!descriptor.configurable) throw new TypeError('property must be configurable');
    const text = message || String(prop);
    let value = descriptor.value;
    const get = descriptor.get || (() => value);
    const set = descriptor.set || (descriptor.writable ? (v) => { value = v; } : undefined);
    Object.defineProperty(obj, prop, {
      configurable: true,
      enumerable: descriptor.enumerable,
      get: function getter() { log(text, getter, 0); return get.call(this); },
      set: set && function setter(v) { log(text, setter, 0); return set.call(this, v); },
    });
  };
  return deprecate;
}
module.exports = depd;
`;

export const depdStandIn = {
  name: 'depd-stand-in',
  setup(b) {
    b.onResolve({ filter: /^depd$/ }, () => ({ path: 'depd', namespace: 'depd-stand-in' }));
    b.onLoad({ filter: /.*/, namespace: 'depd-stand-in' }, () => ({ contents: DEPD, loader: 'js' }));
  },
};

/**
 * koa destructures AsyncLocalStorage from node:async_hooks when it loads,
 * which loads the builtin even though berthd never turns koa's async local
 * storage on. The two uses read it from the module object instead, so the
 * lazy builtin (scripts/lazy-builtins.mjs) is loaded only if they run.
 * Each rewrite must match exactly once, or the build fails (a new koa
 * version must be looked at, not silently half-patched).
 */
const KOA_REWRITES = [
  ["const { AsyncLocalStorage } = require('node:async_hooks')", "const asyncHooks = require('node:async_hooks')"],
  ['instanceof AsyncLocalStorage', 'instanceof asyncHooks.AsyncLocalStorage'],
  ['new AsyncLocalStorage()', 'new asyncHooks.AsyncLocalStorage()'],
];

export const koaLazyAsyncHooks = {
  name: 'koa-lazy-async-hooks',
  setup(b) {
    b.onLoad({ filter: /[\\/]koa[\\/]lib[\\/]application\.js$/ }, (args) => {
      let src = readFileSync(args.path, 'utf8');
      for (const [from, to] of KOA_REWRITES) {
        if (src.split(from).length !== 2) throw new Error(`${args.path}: expected exactly one "${from}" (koa changed: review scripts/load-time-free.mjs)`);
        src = src.replace(from, to);
      }
      return { contents: src, loader: 'js' };
    });
  },
};
