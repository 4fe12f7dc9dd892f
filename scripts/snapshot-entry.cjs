'use strict';
// Entry of berthd's startup snapshot (scripts/bundle.mjs runs
// `node --snapshot-blob dist/berthd.blob --build-snapshot` on this file).
//
// It evaluates the bundle (dist/berthd.cjs: koa, inversify, every Berth
// module) once, at build time; bin/berthd then starts `node --snapshot-blob
// dist/berthd.blob`, which deserializes that heap instead of compiling and
// evaluating ~900 KB of JavaScript at every start. The daemon itself (flag
// parsing, config, plugins, sockets) only runs after deserialization:
// cmd/berthd/main.ts hands its start function to the hook below instead of
// calling it.
//
// What a snapshot must not hold is anything taken from the environment of
// the build: env variables, cwd, pid, CPU count, clocks, random values,
// handles. The bundle is evaluated under an audit that records every such
// read made while modules are evaluated; any read fails the build (the
// value would be stale at every start), naming what was read. Builtins that
// are not safe in a snapshot (node:http's parser binding cannot be
// serialized) are made lazy in the bundle (scripts/lazy-builtins.mjs) and
// must stay unloaded here; plain constants of this node binary that modules
// read at load (http.METHODS for @koa/router) come from BERTH_SNAPSHOT_DATA,
// recorded by scripts/bundle.mjs from the same binary.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { startupSnapshot } = require('node:v8');

const dist = path.resolve(process.env.BERTH_SNAPSHOT_DIST);
const bundle = path.join(dist, 'berthd.cjs');
const MAIN_HOOK = Symbol.for('berth.snapshot.main');
const DATA_HOOK = Symbol.for('berth.snapshot.builtinData');
// Builtins kept out of the snapshot on top of those node itself warns about
// ("not yet fully verified ... in user snapshot builder scripts"): they hold
// random pools, keys, parsers or handles.
const UNSAFE_BUILTINS = ['http', 'https', 'http2', 'async_hooks', 'worker_threads', 'inspector', 'crypto', 'tls', 'dgram', 'child_process', 'cluster'];
// node:vm is this entry's own (bin/launch.cjs loads it on every start too): no state of the bundle's.
const unverified = new Set();
const onWarning = (w) => {
  const m = /built-in module "node:([^"]+)" works in user snapshot/.exec(w.message);
  if (m && m[1] !== 'vm') unverified.add(m[1]);
};
process.on('warning', onWarning);

const builtinData = JSON.parse(process.env.BERTH_SNAPSHOT_DATA || '{}');
const cacheFile = path.join(dist, 'berthd.cache');
// Same wrapper and file name as bin/launch.cjs: stack traces name
// dist/berthd.cjs with the same lines and columns on both start paths.
const wrapped = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(bundle, 'latin1')}\n});`;
const script = new vm.Script(wrapped, {
  filename: bundle,
  // The code cache recorded from a real start-up (scripts/bundle.mjs) gives
  // the functions a start runs their bytecode, kept in the snapshot.
  cachedData: fs.existsSync(cacheFile) ? fs.readFileSync(cacheFile) : undefined,
});
if (script.cachedDataRejected) process.stderr.write('snapshot: the code cache was rejected; functions compile at first use\n');
const alreadyLoaded = new Set(process.moduleLoadList);

const audit = startAudit();
globalThis[DATA_HOOK] = builtinData;
let start;
globalThis[MAIN_HOOK] = (fn) => { start = fn; };
const mod = { exports: {}, filename: bundle, id: bundle, loaded: false };
script.runInThisContext().call(mod.exports, mod.exports, require, mod, bundle, dist);

const reads = audit.stop();
delete globalThis[DATA_HOOK];
delete globalThis[MAIN_HOOK];
// Checked when the snapshot is taken: node's warnings arrive on a later tick.
startupSnapshot.addSerializeCallback(() => {
  process.off('warning', onWarning);
  const loaded = [...new Set([...UNSAFE_BUILTINS, ...unverified])]
    .filter((m) => !alreadyLoaded.has(`NativeModule ${m}`) && process.moduleLoadList.includes(`NativeModule ${m}`));
  const problems = [
    ...reads.map((r) => `read at module evaluation: ${r}`),
    ...loaded.map((m) => `builtin loaded at module evaluation: node:${m} (make it lazy: scripts/lazy-builtins.mjs)`),
    ...(typeof start === 'function' ? [] : ['cmd/berthd/main.ts did not hand its start function to the snapshot hook']),
  ];
  if (problems.length > 0) {
    process.stderr.write(`startup snapshot refused: what the bundle computes while it loads would be frozen into every start.\n  ${problems.join('\n  ')}\nCompute such values on first use instead.\n`);
    process.exit(1);
  }
});

startupSnapshot.setDeserializeMainFunction(() => start());

/**
 * Wraps the environment's entry points so that any call made while the
 * bundle is evaluated is recorded; stop() restores the originals (nothing
 * of the audit reaches the snapshot) and returns what was read.
 */
function startAudit() {
  const reads = new Set();
  const restore = [];
  let active = true;
  const note = (what) => { if (active) reads.add(what); };
  const wrap = (obj, name, label) => {
    const orig = obj[name];
    if (typeof orig !== 'function') return;
    obj[name] = function audited(...args) { note(label); return Reflect.apply(orig, this, args); };
    restore.push(() => { obj[name] = orig; });
  };
  const realEnv = process.env;
  process.env = new Proxy(realEnv, {
    get(t, k) { if (typeof k === 'string') note(`process.env.${k}`); return Reflect.get(t, k); },
    has(t, k) { if (typeof k === 'string') note(`process.env.${k}`); return Reflect.has(t, k); },
    ownKeys(t) { note('process.env (all keys)'); return Reflect.ownKeys(t); },
  });
  restore.push(() => { process.env = realEnv; });
  wrap(Math, 'random', 'Math.random()');
  wrap(Date, 'now', 'Date.now()');
  const RealDate = Date;
  globalThis.Date = new Proxy(RealDate, {
    construct(t, args, nt) { if (args.length === 0) note('new Date()'); return Reflect.construct(t, args, nt); },
    apply(t, self, args) { note('Date()'); return Reflect.apply(t, self, args); },
  });
  restore.push(() => { globalThis.Date = RealDate; });
  wrap(performance, 'now', 'performance.now()');
  wrap(process, 'hrtime', 'process.hrtime()');
  wrap(process.hrtime, 'bigint', 'process.hrtime.bigint()');
  for (const k of ['cwd', 'uptime', 'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups', 'cpuUsage', 'memoryUsage', 'resourceUsage', 'umask']) wrap(process, k, `process.${k}()`);
  for (const k of ['pid', 'ppid', 'argv', 'argv0', 'execArgv', 'title']) {
    const desc = Object.getOwnPropertyDescriptor(process, k);
    if (!desc || !desc.configurable) continue;
    Object.defineProperty(process, k, {
      configurable: true,
      enumerable: desc.enumerable,
      get() { note(`process.${k}`); return desc.get ? desc.get.call(process) : desc.value; },
      set(v) { if (desc.set) desc.set.call(process, v); else desc.value = v; },
    });
    restore.push(() => { Object.defineProperty(process, k, desc); });
  }
  const os = require('node:os');
  for (const k of Object.keys(os)) if (typeof os[k] === 'function') wrap(os, k, `os.${k}()`);
  for (const k of Object.keys(fs)) if (typeof fs[k] === 'function') wrap(fs, k, `fs.${k}()`);
  for (const k of ['setTimeout', 'setInterval', 'setImmediate']) wrap(globalThis, k, `${k}()`);
  // node:crypto (random values, keys) is among UNSAFE_BUILTINS: loading it at all is refused.
  return {
    stop() {
      active = false;
      for (const r of restore.reverse()) r();
      return [...reads];
    },
  };
}
