'use strict';
// Loads berthd's one-file bundle (dist/berthd.cjs) through V8's code cache.
//
// Node 20 has no module compile cache, and compiling ~550 KB of bundled koa,
// inversify and Berth code at every start costs tens of milliseconds; a code
// cache produced at build time (dist/berthd.cache, see scripts/bundle.mjs)
// lets V8 skip that work. A cache from another Node version is rejected by V8
// and the bundle is simply compiled as usual. Without a bundle (a plain
// `tsc` build) the ESM output is started instead.
//
// `node:module` is not required: Module.wrap and createRequire would load it
// and, with it, Node's ESM loader and source-map support (four builtins
// compiled at every start). The wrapper below is Module.wrap's, and the
// bundle only requires builtins, which this file's own `require` resolves
// the same way from any directory.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'berthd.cjs');
const cacheFile = path.join(dist, 'berthd.cache');

if (!fs.existsSync(bundle)) {
  import(path.join(dist, 'cmd', 'berthd', 'main.js'));
} else {
  // The bundle is pure ASCII (scripts/bundle.mjs escapes the rest): latin1
  // reads it without UTF-8 decoding into a one-byte string. The cache buffer
  // is only held while the script is made, not for the daemon's life.
  const readCache = () => { try { return fs.readFileSync(cacheFile); } catch { return undefined; /* no cache yet */ } };
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(bundle, 'latin1')}\n});`;
  const script = new vm.Script(wrapped, {
    filename: bundle,
    cachedData: readCache(),
    importModuleDynamically: vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.BERTH_WRITE_CODE_CACHE === '1') {
    // Build step: record every function compiled while starting up.
    process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
  }
  const mod = { exports: {}, filename: bundle, id: bundle, loaded: false };
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, bundle, dist);
}
