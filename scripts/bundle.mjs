#!/usr/bin/env node
// Bundles the compiled daemon (dist/cmd/berthd/main.js) into one CommonJS
// file, dist/berthd.cjs, then records V8's code cache for it
// (dist/berthd.cache) by starting it once with --version. Resolving and
// compiling several hundred module files of koa and inversify at every start
// costs more than the daemon's own start-up; one pre-linked, pre-compiled
// file is what makes berthd start fast (bin/launch.cjs loads it).
// tsc runs first, so decorator metadata is already emitted.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist/berthd.cache`, { force: true });
await build({
  entryPoints: [`${root}dist/cmd/berthd/main.js`],
  outfile: `${root}dist/berthd.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
const warm = spawnSync(process.execPath, [`${root}bin/launch.cjs`, '--version'], {
  env: { ...process.env, BERTH_WRITE_CODE_CACHE: '1', NODE_EXTRA_CA_CERTS: '' },
  encoding: 'utf8',
});
if (warm.status !== 0) {
  console.error(`bundle smoke test failed:\n${warm.stdout}${warm.stderr}`);
  process.exit(1);
}
