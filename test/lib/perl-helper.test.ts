import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PerlHelper } from '../../lib/perl-helper.js';

// `e <text>`: answers `<text>` upper-cased at once. `h`: never answers (a request in flight).
// `<id> <text>` (tagged script): answers `<id> <text>` for two requests at a time, the second first.
const ECHO = `
use strict; $| = 1;
while (my $line = <STDIN>) {
  chomp $line;
  my ($op, $text) = split / /, $line, 2;
  print uc($text) . "\\n" if $op eq 'e';
}
`;
const REVERSED = `
use strict; $| = 1;
my @held;
while (my $line = <STDIN>) {
  push @held, $line;
  if (@held == 2) { print reverse @held; @held = (); }
}
`;

const echo = new PerlHelper({ name: 'test helper', script: ECHO, enabled: () => true });
const skip = !echo.available() ? 'no perl here' : false;

/** Whether the process runs (a zombie waiting to be reaped has ended). */
async function alive(pid: number): Promise<boolean> {
  const status = await readStatus(pid);
  return status !== '' && !/^State:\s+Z/m.test(status);
}

/** Waits (generously: the machine is loaded) for the helper to end. */
async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 800 && (await alive(pid)); i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(await alive(pid), false, `helper ${pid} ended`);
}

async function readStatus(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
}

describe('lib PerlHelper (a long-lived Perl process speaking a line protocol over stdio)', { skip }, () => {
  after(() => echo.stop());

  it('starts on the first request, answers it, and keeps one process for the next ones', async () => {
    assert.equal(echo.running, false);
    assert.equal(echo.pid, undefined, 'nothing runs before the first request');
    assert.equal(await echo.request(() => 'e hello world'), 'HELLO WORLD');
    const pid = echo.pid;
    assert.ok(pid && existsSync(`/proc/${pid}`));
    assert.match(await readStatus(pid), /^Name:\s+perl/m);
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((t) => echo.request(() => `e ${t}`)));
    assert.deepEqual(answers, ['A', 'B', 'C', 'D'], 'in-order answers settle requests in the order sent');
    assert.equal(echo.pid, pid);
  });

  it('a helper killed with a request in flight rejects it; the next request starts another', async () => {
    await echo.request(() => 'e up');
    const pid = echo.pid!;
    const pending = echo.request(() => 'h');
    process.kill(pid, 'SIGKILL');
    await assert.rejects(pending, (err: Error) => /^test helper: exited \((SIGKILL|answer pipe closed)\)$/.test(err.message));
    assert.equal(echo.running, false);
    assert.equal(await echo.request(() => 'e again'), 'AGAIN');
    assert.ok(echo.pid && echo.pid !== pid, 'a new process');
  });

  it('stop() lets the helper answer what it was sent, then it exits; the next request starts another', async () => {
    await echo.request(() => 'e first');
    const pid = echo.pid!;
    const last = echo.request(() => 'e last');
    echo.stop();
    assert.equal(echo.running, false);
    assert.equal(echo.pid, undefined);
    assert.equal(await last, 'LAST');
    await gone(pid);
    assert.equal(await echo.request(() => 'e next'), 'NEXT');
    assert.ok(echo.pid && echo.pid !== pid);
    echo.stop();
    echo.stop(); // nothing runs: a no-op
  });

  it('answers tagged with the request id settle the right request, in any order', async () => {
    const tagged = new PerlHelper({ name: 'tagged helper', script: REVERSED, enabled: () => true, answerId: (line) => Number(line.split(' ', 1)[0]) });
    try {
      const [a, b] = await Promise.all([tagged.request((id) => `${id} one`), tagged.request((id) => `${id} two`)]);
      assert.match(a, /^\d+ one$/);
      assert.match(b, /^\d+ two$/);
      assert.equal(Number(b.split(' ')[0]), Number(a.split(' ')[0]) + 1);
    } finally {
      tagged.stop();
    }
  });

  it('an idle helper does not keep the process alive; one awaiting an answer does', async () => {
    const mod = new URL('../../lib/perl-helper.js', import.meta.url).href;
    const code = `
      const { PerlHelper } = await import(${JSON.stringify(mod)});
      const h = new PerlHelper({ name: 'x', script: ${JSON.stringify(ECHO)}, enabled: () => true });
      // Nothing else holds the event loop: without the answer pipe ref'd, node would end here (exit 13).
      const answer = await h.request(() => 'e late');
      console.log(answer, h.pid);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const status = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve(-1); }, 30_000);
      child.on('exit', (c) => { clearTimeout(t); resolve(c); });
    });
    assert.equal(status, 0, 'node exited by itself once the answer came');
    const [answer, pid] = out.trim().split(' ');
    assert.equal(answer, 'LATE');
    await gone(Number(pid)); // its stdin closed with the process: the helper ended too
  });

  it('is not available when disabled (an opt-out variable)', () => {
    const off = new PerlHelper({ name: 'off', script: ECHO, enabled: () => false });
    assert.equal(off.available(), false);
    assert.equal(off.running, false);
  });
});
