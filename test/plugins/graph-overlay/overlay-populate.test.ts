import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, tarOf, type TarSpec } from '../../conformance/tar-fixtures.js';
import { OverlayDriver } from '../../../plugins/graph-overlay/overlay-driver.js';
import { overlaySkipReason } from './overlay-skip.js';
import { runCommand } from '../../../plugins/graph-common/run-command.js';
import { INIT_ENTRIES, populateInitLayer, setupInitLayer } from '../../../plugins/container-service/init-layer.js';

const skip = await overlaySkipReason();

/** What a mounted view shows at each init path and its parents: type, mode, owner, content. */
async function view(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const paths = new Set<string>();
  for (const e of INIT_ENTRIES) {
    const parts = e.path.split('/');
    for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
  }
  for (const p of [...paths].sort()) {
    const st = await lstat(join(root, p)).catch(() => undefined);
    if (!st) {
      out[p] = 'missing';
      continue;
    }
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
    const content = st.isFile() ? await readFile(join(root, p), 'utf8') : '';
    out[p] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${JSON.stringify(content)}`;
  }
  return out;
}

/**
 * GraphDriver.populate on overlay2 writes the init layer without mounting it;
 * what a container then sees must be exactly what the mounted init layer
 * (dockerd's way, populateInitLayer through `get`) gives, for images whose
 * layers hide, delete and shadow the init paths.
 */
describe('overlay2 populate (init layer without a mount)', { skip }, () => {
  let dir: string;
  let driver: OverlayDriver;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-overlay-populate-'));
    driver = await OverlayDriver.open(join(dir, 'overlay2'));
  });
  after(async () => {
    await driver.dispose();
    for (const m of (await mountsUnder(dir)).reverse()) await runCommand('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Builds the image layers, then two init layers on top: one populated, one through a mount; returns both views and populate's answer. */
  async function compare(layers: TarSpec[][]): Promise<{ populated: boolean; fast: Record<string, string>; mounted: Record<string, string> }> {
    const tag = `t${n++}`;
    let parent: string | null = null;
    for (const [i, entries] of layers.entries()) {
      const id = `${tag}-l${i}`;
      await driver.create(id, parent);
      await driver.applyDiff(id, parent, await tarOf(entries));
      parent = id;
    }
    await driver.createReadWrite(`${tag}-fast`, parent);
    await driver.createReadWrite(`${tag}-ref`, parent);
    const populated = await driver.populate(`${tag}-fast`, INIT_ENTRIES);
    if (!populated) await setupInitLayer(driver, `${tag}-fast`); // what the container service does then
    const refRoot = await driver.get(`${tag}-ref`);
    await populateInitLayer(refRoot);
    const mounted = await view(refRoot);
    await driver.put(`${tag}-ref`);
    const fast = await view(await driver.get(`${tag}-fast`));
    await driver.put(`${tag}-fast`);
    return { populated, fast, mounted };
  }

  it('creates every placeholder in an empty image, without a mount', async () => {
    const r = await compare([[{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', content: '#!' }]]);
    assert.equal(r.populated, true);
    assert.deepEqual(r.fast, r.mounted);
    assert.match(r.fast['.dockerenv']!, /^file 755 0:0 ""/);
    assert.match(r.fast['dev/pts']!, /^dir 755/);
  });

  it('keeps what the image has (an /etc/hosts with content) and takes the mode and owner of parents from below', async () => {
    const r = await compare([[
      { name: 'etc/', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 },
      { name: 'etc/hosts', content: '10.0.0.1 image\n', mode: 0o600 },
      { name: 'dev/', type: 'directory', mode: 0o711 },
    ]]);
    assert.equal(r.populated, true);
    assert.deepEqual(r.fast, r.mounted);
    assert.equal(r.fast['etc/hosts'], 'file 600 0:0 "10.0.0.1 image\\n"');
    assert.equal(r.fast.etc, 'dir 750 1000:1001 ""');
  });

  it('recreates a placeholder a higher layer deleted (whiteout), and sees entries through merged directories', async () => {
    const r = await compare([
      [{ name: 'etc/', type: 'directory' }, { name: 'etc/hosts', content: 'base\n' }, { name: 'etc/hostname', content: 'base\n' }, { name: 'proc/', type: 'directory' }],
      [{ name: 'etc/', type: 'directory' }, { name: 'etc/.wh.hosts', content: '' }, { name: 'etc/passwd', content: 'root\n' }],
    ]);
    assert.equal(r.populated, true);
    assert.deepEqual(r.fast, r.mounted);
    assert.equal(r.fast['etc/hosts'], 'file 755 0:0 ""');
    assert.equal(r.fast['etc/hostname'], 'file 644 0:0 "base\\n"');
  });

  it('leaves an opaque directory to the kernel (falls back to the mount) with the same result', async () => {
    const r = await compare([
      [{ name: 'etc/', type: 'directory' }, { name: 'etc/hosts', content: 'hidden\n' }],
      [{ name: 'etc/', type: 'directory' }, { name: 'etc/.wh..wh..opq', content: '' }, { name: 'etc/passwd', content: 'root\n' }],
    ]);
    assert.equal(r.populated, false);
    assert.deepEqual(r.fast, r.mounted);
    assert.equal(r.fast['etc/hosts'], 'file 755 0:0 ""');
  });

  it('leaves a symlinked parent directory to the kernel', async () => {
    const r = await compare([[{ name: 'real-etc/', type: 'directory' }, { name: 'etc', type: 'symlink', linkname: 'real-etc' }]]);
    assert.equal(r.populated, false);
    assert.deepEqual(r.fast, r.mounted);
  });

  it('answers false for a mounted layer, whose upper dir the kernel owns', async () => {
    await driver.create('m-base', null);
    await driver.createReadWrite('m-init', 'm-base');
    await driver.get('m-init');
    try {
      assert.equal(await driver.populate('m-init', INIT_ENTRIES), false);
    } finally {
      await driver.put('m-init');
    }
  });
});
