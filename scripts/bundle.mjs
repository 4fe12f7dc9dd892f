#!/usr/bin/env node
// Bundles the compiled daemon (dist/cmd/berthd/main.js) into one ESM file,
// dist/berthd.mjs. Node 20 has no compile cache, and resolving and
// compiling several hundred small module files of koa and inversify costs
// ~150 ms at every start; one pre-linked file starts in a fraction of that.
// tsc runs first, so decorator metadata is already emitted.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}dist/cmd/berthd/main.js`],
  outfile: `${root}dist/berthd.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
  logLevel: 'warning',
});
