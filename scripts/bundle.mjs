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
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * koa's helpers (mime-types, type-is, accepts) index all ~2,500 entries of
 * mime-db at load time, a fifth of berthd's start-up. berthd sets every
 * Content-Type explicitly; koa itself only looks up the few short names
 * below (`ctx.type = 'json'` and friends), so the bundle carries just those.
 */
const MIME_TYPES_USED = [
  'application/json', 'application/octet-stream', 'application/x-tar', 'application/gzip',
  'application/x-ndjson', 'text/html', 'text/plain',
];
const slimMimeDb = {
  name: 'slim-mime-db',
  setup(b) {
    b.onLoad({ filter: /[\\/]mime-db[\\/]db\.json$/ }, (args) => {
      const all = JSON.parse(readFileSync(args.path, 'utf8'));
      const kept = Object.fromEntries(MIME_TYPES_USED.filter((t) => all[t]).map((t) => [t, all[t]]));
      return { contents: JSON.stringify(kept), loader: 'json' };
    });
  },
};
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
  plugins: [slimMimeDb],
});
const warm = spawnSync(process.execPath, [`${root}bin/launch.cjs`, '--version'], {
  env: { ...process.env, BERTH_WRITE_CODE_CACHE: '1', NODE_EXTRA_CA_CERTS: '' },
  encoding: 'utf8',
});
if (warm.status !== 0) {
  console.error(`bundle smoke test failed:\n${warm.stdout}${warm.stderr}`);
  process.exit(1);
}
