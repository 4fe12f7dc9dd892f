// esbuild plugin: npm packages that berthd needs only for some requests are
// evaluated on first use instead of at start-up.
//
// tar-fs and tar-stream (with streamx, b4a and text-decoder under them) serve
// image save/load/export and `docker cp`; evaluating them, and compiling
// their code at every start, is work a daemon that only answers /_ping never
// needs. As in lazy-builtins.mjs, each package is replaced by an object with
// one getter per export (the names are read here, from the same package) that
// evaluates the real, still bundled, module on first access. Only packages
// whose exports are plain functions read at call time belong here.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** Packages made lazy. */
export const LAZY_PACKAGES = ['tar-fs', 'tar-stream'];

export const lazyPackages = {
  name: 'lazy-packages',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_PACKAGES.join('|')})$`);
    b.onResolve({ filter }, (args) => ({
      // The real module, as the importer would have resolved it (nested versions stay apart).
      path: createRequire(`${args.resolveDir}/`).resolve(args.path),
      namespace: 'lazy-package',
    }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => {
      const real = args.path;
      const keys = Object.getOwnPropertyNames(createRequire(real)(real)).filter((k) => k !== 'default' && k !== '__esModule');
      return {
        loader: 'js',
        resolveDir: dirname(real),
        contents: [
          'let real;',
          // An absolute path: esbuild bundles it (lazily, as a CommonJS module), and this plugin's filter does not match it.
          `const load = () => (real ??= require(${JSON.stringify(real)}));`,
          'const lazy = {};',
          `for (const k of ${JSON.stringify(keys)}) Object.defineProperty(lazy, k, { enumerable: true, get: () => load()[k] });`,
          'module.exports = lazy;',
        ].join('\n'),
      };
    });
  },
};
