import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder } from '../../conformance/tar-fixtures.js';
import { OverlayDriver } from '../../../plugins/graph-overlay/overlay-driver.js';
import { overlaySkipReason } from './overlay-skip.js';
import { runCommand } from '../../../plugins/graph-common/run-command.js';

/** Overlay's `volatile` option needs Linux 5.10. */
function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec((process.report?.getReport() as { header?: { osRelease?: string } } | undefined)?.header?.osRelease ?? '');
  return m !== null && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor));
}

const skip = (await overlaySkipReason()) ?? (kernelAtLeast(5, 10) ? undefined : 'overlay volatile needs Linux 5.10');

/** Whether the mount at `path` is volatile (`volatile`, shown as `fsync=volatile` by newer kernels). */
async function isVolatile(path: string): Promise<boolean> {
  const opts = await mountOptions(path);
  assert.ok(opts, `${path} is not mounted`);
  return opts.split(',').some((o) => o === 'volatile' || o === 'fsync=volatile');
}

/** The options of the mount at `path`, from /proc/self/mountinfo (super options, last field). */
async function mountOptions(path: string): Promise<string | undefined> {
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const f = line.split(' ');
    if (f[4] === path) return f[f.length - 1];
  }
  return undefined;
}

/**
 * A container layer created `volatile` (a --rm container) is mounted with
 * overlay's volatile option, so its unmount does not sync the backing
 * filesystem, and it can be mounted again (docker restart) although the
 * kernel leaves its "may be torn" marker behind. Other layers are not.
 */
describe('overlay2 volatile container layers', { skip }, () => {
  let dir: string;
  let driver: OverlayDriver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-overlay-volatile-'));
    driver = await OverlayDriver.open(join(dir, 'overlay2'));
    await driver.create('base', null);
  });
  after(async () => {
    await driver.dispose();
    for (const m of (await mountsUnder(dir)).reverse()) await runCommand('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });

  it('mounts a volatile layer volatile, and mounts it again after an unmount with its content', async () => {
    await driver.createReadWrite('rm-ctr', 'base', { volatile: true });
    const merged = await driver.get('rm-ctr');
    assert.equal(await isVolatile(merged), true);
    await writeFile(join(merged, 'kept'), 'data');
    await driver.put('rm-ctr');
    assert.equal(await mountOptions(merged), undefined);
    const again = await driver.get('rm-ctr');
    assert.equal(await isVolatile(again), true);
    assert.equal(await readFile(join(again, 'kept'), 'utf8'), 'data');
    await driver.put('rm-ctr');
  });

  it('mounts other container layers without it', async () => {
    await driver.createReadWrite('ctr', 'base');
    const merged = await driver.get('ctr');
    try {
      assert.equal(await isVolatile(merged), false);
    } finally {
      await driver.put('ctr');
    }
  });
});
