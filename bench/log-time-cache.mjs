#!/usr/bin/env node
// CPU time of parsing log lines whose timestamps repeat (lib/time-text-cache.ts at work): the
// CRI spool scanner (lib/cri-log.ts scanCriLines) and the json-file reader's line decoder
// (plugins/log-json-file/json-batch-decode.ts), over the same lines, for this build's dist/ and,
// with --base, another build's dist/ (e.g. main's, built in a clone), runs interleaved A B A B.
//
//   node bench/log-time-cache.mjs [--base /path/to/other/checkout] [--lines 500000] [--rounds 5] [--same 4]
//
// `--same N`: N lines in a row carry one timestamp (alternating stdout/stderr, so the CRI
// scanner's whole-header shortcut does not hide the cache); N=1: every line has its own.
// Each round runs each build in a fresh process: 3 passes to warm up, then the median CPU time
// (user+sys, process.cpuUsage) of 7 passes. Printed: median and minimum over rounds, and this/base ratios.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { median } from './lib/stats.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const lines = Number(opt('--lines', 500000));
const rounds = Number(opt('--rounds', 5));
const same = Number(opt('--same', 4));
const base = opt('--base', undefined);
const here = fileURLToPath(new URL('..', import.meta.url));

if (args[0] === '--child') {
  const [, root, kind] = args;
  const mod = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { newLineBatch } = await mod('lib/log-line-batch.js');
  const time = (i) => {
    const t = Math.floor(i / same);
    return `2024-01-02T03:${String(Math.floor(t / 60_000_000) % 60).padStart(2, '0')}:${String(Math.floor(t / 1_000_000) % 60).padStart(2, '0')}.${String(t % 1_000_000).padStart(6, '0')}123Z`;
  };
  const text = 'a line of output from the process, number';
  let pass;
  if (kind === 'cri') {
    const { CriTimeCache, scanCriLines } = await mod('lib/cri-log.js');
    const buf = Buffer.from(Array.from({ length: lines }, (_, i) => `${time(i)} ${i % 2 ? 'stderr' : 'stdout'} F ${text} ${i}\n`).join(''));
    pass = () => {
      const batch = newLineBatch(buf, lines);
      scanCriLines(buf, buf.length, batch, new CriTimeCache());
      if (batch.count !== lines) throw new Error(`cri: ${batch.count} lines`);
    };
  } else {
    const { JsonLineDecoder } = await mod('plugins/log-json-file/json-batch-decode.js');
    const src = Buffer.from(Array.from({ length: lines }, (_, i) => `{"log":"${text} ${i}\\n","stream":"${i % 2 ? 'stderr' : 'stdout'}","time":"${time(i)}"}\n`).join(''));
    const ends = [];
    for (let nl = src.indexOf(10); nl >= 0; nl = src.indexOf(10, nl + 1)) ends.push(nl);
    const data = Buffer.alloc(src.length);
    pass = () => {
      src.copy(data); // the decoder unescapes in place
      const dec = new JsonLineDecoder();
      let gen = -1;
      let times = 0;
      let s = 0;
      for (const e of ends) {
        if (dec.decode(data, s, e) === 'line' && dec.timeGeneration !== gen) { gen = dec.timeGeneration; times++; }
        s = e + 1;
      }
      if (times !== Math.ceil(lines / same)) throw new Error(`json: ${times} times`);
    };
  }
  for (let i = 0; i < 3; i++) pass();
  const cpu = [];
  for (let i = 0; i < 7; i++) {
    const c0 = process.cpuUsage();
    pass();
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  cpu.sort((a, b) => a - b);
  console.log(cpu[3].toFixed(2));
  process.exit(0);
}

const builds = base ? [['base', resolve(base)], ['this', here]] : [['this', here]];
const results = {};
for (const kind of ['cri', 'json']) {
  for (let r = 0; r < rounds; r++) {
    for (const [name, root] of r % 2 ? [...builds].reverse() : builds) {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', root, kind, '--lines', String(lines), '--same', String(same)], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${name} ${kind}: ${p.stderr}`);
      ((results[kind] ??= {})[name] ??= []).push(Number(p.stdout.trim()));
    }
  }
}
console.log(`${lines} lines, ${same} in a row per timestamp, ${rounds} rounds (ms of CPU per pass, median)`);
for (const [kind, byBuild] of Object.entries(results)) {
  const row = Object.entries(byBuild).map(([name, xs]) => `${name} ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}) [${xs.map((x) => x.toFixed(0)).join(' ')}]`);
  // The machine is shared: the minimum is the pass least disturbed by other work.
  const ratio = byBuild.base ? `  this/base median ${(median(byBuild.this) / median(byBuild.base)).toFixed(3)}, min ${(Math.min(...byBuild.this) / Math.min(...byBuild.base)).toFixed(3)}` : '';
  console.log(`${kind.padEnd(5)} ${row.join('  ')}${ratio}`);
}
