import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerE2eSkip } from './containers/daemon-suite.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';
import { apiJson } from './containers/raw-http.js';

/**
 * What a kill -9 of berthd leaves of containers being created and removed,
 * and what the next start makes of it. A removal is committed by renaming
 * the container's directory into `containers/.trash/` (its layers and the
 * directory are deleted after the reply); a create makes the container's
 * directory before its layers and saves the record last. Whatever the point
 * of the kill, after the restart every listed container is whole (it can be
 * inspected, started and removed) and nothing of a container that is not
 * listed is left: no layer in the graph driver, no hold in the layer store
 * (`docker rmi` of the image then deletes it and its layer), nothing in the
 * trash; the image's shared init layer is there exactly while a listed
 * container sits on it (its marker too).
 */
describe('containers across a kill -9 of berthd (create, remove, --rm)', { skip: containerE2eSkip }, () => {
  let c: ContainerDaemon;
  let graphDriver = '';
  before(async () => {
    c = await startContainerDaemon();
    graphDriver = ok(['info', '--format', '{{.Driver}}']).trim();
  });
  after(async () => { await c?.stop(); });

  const ok = (args: string[]) => {
    const r = c.d.docker(args, { timeoutMs: 60_000 });
    assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const data = () => join(c.d.dir, 'data');
  const driver = () => graphDriver;
  const listed = () => ok(['ps', '-aq', '--no-trunc']).split('\n').filter(Boolean);
  /** Graph-driver layers of containers' own (`<id>`, and `<id>-init` of a private init layer); image layers have other ids. */
  const containerLayers = (ids: string[]) => {
    const dir = join(data(), driver());
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((e) => ids.some((id) => e === id || e === `${id}-init`));
  };
  /** Shared init layers in the graph driver (`<image layer>-init`, not a container's), and their markers. */
  const sharedInitLayers = (exclude: string[]) => {
    const dir = join(data(), driver());
    const layers = existsSync(dir) ? readdirSync(dir).filter((e) => e.endsWith('-init') && !exclude.some((id) => e === `${id}-init`)) : [];
    const markerDir = join(data(), 'containers', '.init-layers', driver());
    return { layers: layers.sort(), markers: existsSync(markerDir) ? readdirSync(markerDir).sort() : [] };
  };
  /** The init layer a container's record names (shared by the containers of its image). */
  const initLayerOf = (id: string) => (JSON.parse(readFileSync(join(data(), 'containers', id, 'config.v2.json'), 'utf8')) as { InitLayer?: string }).InitLayer;
  const holds = () => readdirSync(join(data(), 'image', driver(), 'layerdb', 'mounts'));
  const trash = () => (existsSync(join(data(), 'containers', '.trash')) ? readdirSync(join(data(), 'containers', '.trash')) : []);

  /**
   * Nothing is left of `gone`, and every listed container is whole. (The
   * trash is emptied at start; after a live `docker rm` its entry may still
   * be on its way out, so it is checked after restarts only.)
   */
  const assertClean = (gone: string[], opts: { afterStart?: boolean } = { afterStart: true }) => {
    const now = listed();
    for (const id of gone) assert.ok(!now.includes(id), `${id.slice(0, 12)} is not listed`);
    assert.deepEqual(containerLayers(gone), [], 'no layer of a removed container is left');
    assert.deepEqual(holds().filter((h) => gone.includes(h)), [], 'no layer-store hold of a removed container is left');
    if (opts.afterStart) assert.deepEqual(trash(), [], 'the trash is emptied at start');
    assert.deepEqual(readdirSync(join(data(), 'containers')).filter((e) => gone.includes(e)), []);
    for (const id of now) {
      assert.equal(containerLayers([id]).length, 1, `${id.slice(0, 12)} keeps its layer`);
      assert.ok(holds().includes(initLayerOf(id)!), `${id.slice(0, 12)}'s init layer keeps its hold on the image`);
    }
    // The shared init layers left are those the listed containers sit on (vfs keeps layers as dirs too)
    // or, with none listed, the image's one kept idle after its last container (removed live or at a start).
    const used = [...new Set(now.map(initLayerOf))].filter((l): l is string => l !== undefined).sort();
    assert.equal(used.length, now.length ? 1 : 0, 'the listed containers of the one image share one init layer');
    const shared = sharedInitLayers(now);
    const kept = used.length > 0 ? used : shared.markers;
    assert.ok(kept.length <= 1, 'at most the one image\'s init layer');
    if (driver() === 'overlay2') assert.deepEqual(shared.layers, kept, 'no shared init layer without a listed container, but one kept idle');
    assert.deepEqual(shared.markers, kept, 'one marker per shared init layer');
    assert.deepEqual(holds().sort(), kept, 'the holds on the image are those of the shared init layers');
  };

  it('a removal committed by the trash rename is finished at the next start', async () => {
    const id = ok(['create', '--name', 'trashed', 'bbox:1', 'true']).trim();
    const kept = ok(['create', '--name', 'kept', 'bbox:1', 'true']).trim();
    // Kill, then put the disk in the state of a kill right after the rename: directory in the trash, layers there.
    await stopHard(c);
    await mkdir(join(data(), 'containers', '.trash'), { recursive: true });
    await rename(join(data(), 'containers', id), join(data(), 'containers', '.trash', id));
    assert.equal(containerLayers([id]).length, 1, 'the layer is still there before the start');
    await c.d.restart();
    assertClean([id]);
    assert.ok(listed().includes(kept));
    // The name is free, and the kept container runs and goes.
    ok(['create', '--name', 'trashed', 'bbox:1', 'true']);
    ok(['start', '-a', 'kept']);
    ok(['rm', 'trashed', 'kept']);
    assertClean([id, kept], {});
  });

  it('a record saved as removing (an older berthd killed mid-removal) is removed at start', async () => {
    const id = ok(['create', 'bbox:1', 'true']).trim();
    await stopHard(c);
    const file = join(data(), 'containers', id, 'config.v2.json');
    const rec = JSON.parse(await readFile(file, 'utf8'));
    rec.State.Status = 'removing';
    await writeFile(file, JSON.stringify(rec));
    await c.d.restart();
    assertClean([id]);
  });

  it('a create killed before its record was saved leaves nothing after the next start', async () => {
    const id = ok(['create', 'bbox:1', 'true']).trim();
    await stopHard(c);
    // The state of a kill after the layers were made, before the record: a directory without config.v2.json.
    await rm(join(data(), 'containers', id, 'config.v2.json'));
    assert.equal(containerLayers([id]).length, 1);
    assert.equal(sharedInitLayers([]).markers.length, 1, 'the shared init layer is there before the start');
    await c.d.restart();
    assertClean([id]);
  });

  it('a --rm container running when berthd is killed is removed at the next start', async () => {
    const id = ok(['run', '-d', '--rm', 'bbox:1', 'sleep', '300']).trim();
    await stopHard(c);
    await c.d.restart();
    // Without live-restore the container is stopped at start, and --rm removes it.
    await waitUntil(() => !listed().includes(id), 30_000);
    assertClean([id]);
  });

  it('docker run --rm answers once the container, its task and its layers are gone', () => {
    const cidFile = join(c.d.dir, 'run-rm.cid');
    ok(['run', '--rm', '--cidfile', cidFile, 'bbox:1', 'true']);
    const id = readFileSync(cidFile, 'utf8').trim();
    // The removal overlaps the exited task's deletion and waits for it: nothing of the task is left either.
    assertClean([id], {});
    assert.deepEqual(c.leftovers(), []);
  });

  it('a --rm removal committed while its exited task was still being deleted: the next start deletes the task', async () => {
    const id = ok(['run', '-d', '--rm', 'bbox:1', 'sleep', '300']).trim();
    const pid = Number(ok(['inspect', '-f', '{{.State.Pid}}', id]).trim());
    await stopHard(c);
    // The state of a kill right after the removal's trash rename, before the task's deletion ended:
    // the process has exited (its monitor recorded the exit and left), the container's directory is
    // in the trash, the task (bundle, runtime state, cgroups) is still there.
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !c.leftovers().some((l) => l.startsWith('monitor ')), 30_000);
    await mkdir(join(data(), 'containers', '.trash'), { recursive: true });
    await rename(join(data(), 'containers', id), join(data(), 'containers', '.trash', id));
    assert.ok(c.leftovers().some((l) => l.includes('exec-libcontainer/tasks')), `the task is there before the start: ${c.leftovers().join('; ')}`);
    await c.d.restart();
    assertClean([id]);
    assert.deepEqual(c.leftovers(), [], 'the task of the removed container is deleted at start');
  });

  it('a --rm container whose record still says created (its running state lost with the host) is removed at the next start', async () => {
    // An auto-removed container's running state is written without fsync: a host crash may leave the
    // record of its create, and such a container is removed at start as a running one would be.
    const id = ok(['create', '--rm', 'bbox:1', 'true']).trim();
    await stopHard(c);
    await c.d.restart();
    assertClean([id]);
  });

  // Starts are left out of the traffic: a kill between the exec driver's task bundle and its record
  // leaves a bundle that the driver refuses later ("task … already exists"), an exec-driver matter.
  it('kills in the middle of create/rm traffic leave every container whole or gone', async () => {
    const seen = new Set<string>();
    const errors: string[] = [];
    for (const delayMs of [150, 400, 900]) {
      const stop = { now: false };
      // Four workers: create (half of them --rm, whose layers are made unsynced) and remove, until the kill.
      const workers = Array.from({ length: 4 }, (_, w) => (async () => {
        for (let i = 0; !stop.now; i++) {
          const autoRemove = (i + w) % 2 === 0;
          const created = await api(c, 'POST', '/containers/create', { Image: 'bbox:1', Cmd: ['true'], HostConfig: { AutoRemove: autoRemove } }).catch((err: Error) => { errors.push(err.message); return undefined; });
          const id = (created?.body as { Id?: string } | undefined)?.Id;
          if (!id) continue;
          seen.add(id);
          await api(c, 'DELETE', `/containers/${id}?v=1`).catch(() => undefined);
        }
      })());
      await new Promise((r) => setTimeout(r, delayMs));
      await stopHard(c);
      stop.now = true;
      await Promise.all(workers);
      await c.d.restart();
      const now = listed();
      const gone = [...seen].filter((id) => !now.includes(id));
      assertClean(gone);
      // Every container still listed is whole: it runs and is removed (a --rm one by itself).
      for (const id of now) {
        const autoRemove = autoRemoved(id);
        ok(['start', '-a', id]);
        if (autoRemove) await waitUntil(() => !listed().includes(id), 30_000);
        else ok(['rm', id]);
      }
      assertClean([...seen], {});
      assert.deepEqual(c.leftovers(), []);
    }
    assert.ok(seen.size > 0, `some containers were created (errors: ${errors.slice(0, 3).join('; ')})`);
    // Not even a container whose create the kill cut short (its ID never reached us) left a layer:
    // the image layer is left, and the image's init layer if it is kept idle (and then its only hold).
    if (driver() === 'overlay2') {
      const left = readdirSync(join(data(), 'overlay2')).filter((e) => e !== 'l');
      assert.equal(left.filter((e) => !e.endsWith('-init')).length, 1, 'only the image layer is left');
      assert.deepEqual(left.filter((e) => e.endsWith('-init')), holds(), 'and the idle init layer, with its hold');
    }
    // No hold is left on the image: it is deleted with its layer (an idle init layer goes first).
    const out = ok(['rmi', 'bbox:1']);
    assert.match(out, /^Deleted: sha256:/m);
    assert.deepEqual(holds(), []);
    if (driver() === 'overlay2') assert.deepEqual(readdirSync(join(data(), 'overlay2')).filter((e) => e !== 'l'), []);
  });

  function autoRemoved(id: string): boolean {
    const r = c.d.docker(['inspect', '-f', '{{.HostConfig.AutoRemove}}', id]);
    return r.status === 0 && r.stdout.trim() === 'true';
  }
});

/** kill -9 of the daemon, without starting it again. */
async function stopHard(c: ContainerDaemon): Promise<void> {
  const child = c.d.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A JSON API call that fails on an error status, so a traffic worker stops at its first refusal. */
async function api(c: ContainerDaemon, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const r = await apiJson(c.d.socket, method, path, body);
  if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${typeof r.json === 'string' ? r.json : JSON.stringify(r.json)}`);
  return { status: r.status, body: r.json };
}
