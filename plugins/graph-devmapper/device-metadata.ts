/**
 * What dockerd's devicemapper keeps beside the pool, in the same files and
 * JSON, under `<root>/metadata/`:
 *
 *   <hash>                 one thin device: {"device_id","size","transaction_id","initialized","deleted"};
 *                          the base device's file is `base`
 *   deviceset-metadata     {"next_device_id","BaseDeviceUUID","BaseDeviceFilesystem"}
 *   transaction-metadata   {"open_transaction_id","device_hash","device_id"}: the device being
 *                          created or deleted, written before the pool is told, so that a crash
 *                          between the pool message and the commit is rolled back at the next start
 *
 * Every file is written atomically (temp file, fsync, rename, fsync dir);
 * temp files start with a dot and are skipped when loading, as dockerd does.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../kernel/fs/atomic.js';

export const DEVICE_SET_META_FILE = 'deviceset-metadata';
export const TRANSACTION_META_FILE = 'transaction-metadata';
/** Thin device ids are 24 bits wide. */
export const MAX_DEVICE_ID = 0xffffff;

/** One thin device. `hash` is the layer id, "" for the base device. */
export interface DevInfo {
  hash: string;
  deviceId: number;
  size: number;
  transactionId: number;
  initialized: boolean;
  deleted: boolean;
}

export interface Transaction {
  openTransactionId: number;
  deviceHash: string;
  deviceId: number;
}

export interface DeviceSetMeta {
  nextDeviceId: number;
  baseDeviceUUID: string;
  baseDeviceFilesystem: string;
}

/**
 * Layer ids become file names and device-mapper names. Names that would
 * collide with the driver's own (`base`, `pool`, the two metadata files),
 * start with a dot, or hold characters libdm would mangle are written as
 * `+<hex>`; `+` never appears in a plain key, so the two forms cannot meet.
 */
const RESERVED = new Set(['base', 'pool', DEVICE_SET_META_FILE, TRANSACTION_META_FILE]);
export function deviceKey(hash: string): string {
  if (hash === '') return 'base';
  if (/^[A-Za-z0-9][A-Za-z0-9_.:=@#-]*$/.test(hash) && !RESERVED.has(hash) && !hash.endsWith('.migrated')) return hash;
  return '+' + Buffer.from(hash, 'utf8').toString('hex');
}

export function hashOfKey(key: string): string {
  if (key === 'base') return '';
  if (key.startsWith('+')) return Buffer.from(key.slice(1), 'hex').toString('utf8');
  return key;
}

export class MetadataStore {
  constructor(readonly dir: string) {}

  fileOf(hash: string): string {
    return join(this.dir, deviceKey(hash));
  }

  /** Every device file (deleted ones too: the deletion worker retries them). */
  async loadAll(onBad: (file: string, err: unknown) => void = () => undefined): Promise<Map<string, DevInfo>> {
    const out = new Map<string, DevInfo>();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith('.') || name.endsWith('.migrated') || name === DEVICE_SET_META_FILE || name === TRANSACTION_META_FILE) continue;
      const hash = hashOfKey(name);
      try {
        const info = await this.load(hash);
        if (info) out.set(hash, info);
      } catch (err) {
        onBad(name, err);
      }
    }
    return out;
  }

  async load(hash: string): Promise<DevInfo | null> {
    const raw = await readJson(this.fileOf(hash));
    if (raw === null) return null;
    const deviceId = Number(raw.device_id);
    if (!Number.isInteger(deviceId) || deviceId < 0 || deviceId > MAX_DEVICE_ID) return null; // dockerd: "Ignoring Invalid DeviceId"
    return {
      hash,
      deviceId,
      size: Number(raw.size ?? 0),
      transactionId: Number(raw.transaction_id ?? 0),
      initialized: raw.initialized === true,
      deleted: raw.deleted === true,
    };
  }

  async save(info: DevInfo): Promise<void> {
    const json = { device_id: info.deviceId, size: info.size, transaction_id: info.transactionId, initialized: info.initialized, deleted: info.deleted };
    await writeFileAtomic(this.fileOf(info.hash), JSON.stringify(json), 0o600);
  }

  async remove(hash: string): Promise<void> {
    await rm(this.fileOf(hash), { force: true });
  }

  async loadTransaction(): Promise<Transaction | null> {
    const raw = await readJson(join(this.dir, TRANSACTION_META_FILE));
    if (raw === null) return null;
    return { openTransactionId: Number(raw.open_transaction_id ?? 0), deviceHash: String(raw.device_hash ?? ''), deviceId: Number(raw.device_id ?? 0) };
  }

  async saveTransaction(t: Transaction): Promise<void> {
    const json = { open_transaction_id: t.openTransactionId, device_hash: t.deviceHash, device_id: t.deviceId };
    await writeFileAtomic(join(this.dir, TRANSACTION_META_FILE), JSON.stringify(json), 0o600);
  }

  async removeTransaction(): Promise<void> {
    await rm(join(this.dir, TRANSACTION_META_FILE), { force: true });
  }

  async loadDeviceSet(): Promise<Partial<DeviceSetMeta>> {
    const raw = await readJson(join(this.dir, DEVICE_SET_META_FILE));
    if (raw === null) return {};
    return {
      nextDeviceId: Number(raw.next_device_id ?? 0),
      baseDeviceUUID: String(raw.BaseDeviceUUID ?? ''),
      baseDeviceFilesystem: String(raw.BaseDeviceFilesystem ?? ''),
    };
  }

  async saveDeviceSet(m: DeviceSetMeta): Promise<void> {
    const json = { next_device_id: m.nextDeviceId, BaseDeviceUUID: m.baseDeviceUUID, BaseDeviceFilesystem: m.baseDeviceFilesystem };
    await writeFileAtomic(join(this.dir, DEVICE_SET_META_FILE), JSON.stringify(json), 0o600);
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Free thin device ids (dockerd's deviceIDMap bitmap, as a set of used ids):
 * the next id after the last one handed out that no device holds, wrapping at 24 bits.
 */
export class DeviceIdAllocator {
  private readonly used = new Set<number>();
  constructor(public next = 0) {}

  markUsed(id: number): void { this.used.add(id); }
  markFree(id: number): void { this.used.delete(id); }
  isFree(id: number): boolean { return !this.used.has(id); }

  allocate(): number {
    for (let i = 0; i <= MAX_DEVICE_ID; i++) {
      this.next = (this.next + 1) & MAX_DEVICE_ID;
      if (this.isFree(this.next)) {
        this.used.add(this.next);
        return this.next;
      }
    }
    throw new Error('devmapper: Unable to find a free device ID');
  }
}
