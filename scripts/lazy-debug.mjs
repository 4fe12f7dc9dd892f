// esbuild plugin: the `debug` package (@koa/router's tracing) is evaluated
// only when the DEBUG environment variable asks for tracing.
//
// Loading it at every start costs more than its size suggests: it loads
// node's tty module, and probes for the optional `supports-color` package
// with a require() that searches every node_modules directory up to / and
// throws when, as usual, it is not installed. Without DEBUG, every debug()
// call of the real module is a no-op, which is what the stand-in returns;
// with DEBUG set, the real module is loaded and behaves as always.
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
        'function off(namespace) {',
        '  const d = () => {};',
        '  d.namespace = namespace;',
        '  d.enabled = false;',
        '  d.extend = (sub, delimiter = ":") => off(`${namespace}${delimiter}${sub}`);',
        '  d.destroy = () => true;',
        '  return d;',
        '}',
        'off.enabled = () => false;',
        'off.enable = () => {};',
        'off.disable = () => "";',
        'off.debug = off;',
        'off.default = off;',
        `module.exports = process.env.DEBUG ? require(${JSON.stringify(args.path)}) : off;`,
      ].join('\n'),
    }));
  },
};
