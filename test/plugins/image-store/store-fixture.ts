import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EventBus, silentLogger, type DockerEvent, type GraphDriver, type LoadOutput } from '../../../kernel/index.js';
import { VfsDriver } from '../../../plugins/graph-vfs/vfs-driver.js';
import { LocalImageStore } from '../../../plugins/image-store/local-image-store.js';

/** A LocalImageStore on a vfs driver in a temp data root, recording the Docker events it emits. */
export async function openStore() {
  const dataRoot = await mkdtemp(join(tmpdir(), 'berth-images-'));
  let driver = await VfsDriver.open(join(dataRoot, 'vfs'));
  const events: DockerEvent[] = [];
  const bus = new EventBus(silentLogger);
  bus.on('docker.event', (e) => events.push(e));
  const root = join(dataRoot, 'image', 'vfs');
  const open = () => LocalImageStore.open({ root, driver: () => driver as GraphDriver, events: bus, log: silentLogger });
  const fx = {
    dataRoot,
    root,
    events,
    store: await open(),
    driverDir: join(dataRoot, 'vfs', 'dir'),
    /** Reopens store and driver on the same directories, as after a restart. */
    async reopen() {
      await fx.store.dispose();
      await driver.dispose();
      driver = await VfsDriver.open(join(dataRoot, 'vfs'));
      fx.store = await open();
    },
    async close() {
      await fx.store.dispose();
      await driver.dispose();
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
  return fx;
}

/** Collects what `load` reports. */
export function loadOutput(): { lines: string[]; progressed: Array<[string, number, number]>; out: LoadOutput } {
  const lines: string[] = [];
  const progressed: Array<[string, number, number]> = [];
  return { lines, progressed, out: { line: (t) => lines.push(t), progress: (id, c, t) => progressed.push([id, c, t]) } };
}

export const body = (b: Buffer) => Readable.from([b]);
