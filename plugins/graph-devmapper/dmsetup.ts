/**
 * The device-mapper operations of dockerd's pkg/devicemapper, as `dmsetup`
 * command lines. Thin provisioning is driven by messages to the pool
 * (Documentation/admin-guide/device-mapper/thin-provisioning.rst):
 *
 *   create_thin <dev_id>                 a new, empty thin device
 *   create_snap <dev_id> <origin_id>     a snapshot; the origin must be suspended if active
 *   delete <dev_id>                      frees its blocks (EBUSY while it is active)
 *   set_transaction_id <cur> <new>       the pool's commit marker (dockerd's transactions)
 *
 * A thin device is activated with a `thin <pool> <dev_id>` table.
 */
import { ToolError, runTool, type ToolRunner } from './tool-runner.js';

export const SECTOR = 512;

export interface DmInfo {
  exists: boolean;
  openCount: number;
  suspended: boolean;
  deferredRemove: boolean;
  major: number;
  minor: number;
}

export interface DmStatus {
  start: number;
  /** Length in 512-byte sectors. */
  length: number;
  target: string;
  params: string;
}

/** `dmsetup status` of a thin-pool: "<transaction id> <used meta>/<total meta> <used data>/<total data> …" (blocks). */
export interface PoolStatus {
  totalSectors: number;
  transactionId: number;
  metadataUsed: number;
  metadataTotal: number;
  dataUsed: number;
  dataTotal: number;
}

export class Dmsetup {
  constructor(private readonly run: ToolRunner) {}

  private dm(args: string[]) {
    return runTool(this.run, 'dmsetup', args);
  }

  /** `dmsetup info`; null when the device does not exist. */
  async info(name: string): Promise<DmInfo | null> {
    const r = await this.run('dmsetup', ['info', name]);
    if (r.code !== 0) {
      if (/does not exist|No such device or address/i.test(r.stderr)) return null;
      throw new ToolError('dmsetup', ['info', name], r);
    }
    return parseInfo(r.stdout);
  }

  /** Creates and activates `name` with a one-line table. */
  async create(name: string, table: string): Promise<void> {
    await this.dm(['create', name, '--table', table]);
  }

  /** Removes an active device; `deferred` lets the kernel do it when the last opener closes it. */
  async remove(name: string, deferred = false): Promise<void> {
    await this.dm(deferred ? ['remove', '--deferred', name] : ['remove', name]);
  }

  /** Cancels a scheduled deferred removal (libdm's dm_task_deferred_remove undo is this message). */
  async cancelDeferredRemove(name: string): Promise<void> {
    await this.dm(['message', name, '0', '@cancel_deferred_remove']);
  }

  async suspend(name: string): Promise<void> {
    await this.dm(['suspend', name]);
  }

  async resume(name: string): Promise<void> {
    await this.dm(['resume', name]);
  }

  async message(name: string, message: string): Promise<void> {
    await this.dm(['message', name, '0', message]);
  }

  async status(name: string): Promise<DmStatus> {
    return parseTableLine((await this.dm(['status', name])).stdout);
  }

  async table(name: string): Promise<DmStatus> {
    return parseTableLine((await this.dm(['table', name])).stdout);
  }

  async poolStatus(pool: string): Promise<PoolStatus> {
    const s = await this.status(pool);
    if (s.target !== 'thin-pool') throw new Error(`devmapper: Device ${pool} is not a thin pool`);
    return parsePoolStatus(s);
  }

  /** "1.02.185 (2022-05-18)" and "4.47.0" from `dmsetup version`. */
  async version(): Promise<{ library: string; driver: string }> {
    const out = (await this.dm(['version'])).stdout;
    const field = (label: string) => new RegExp(`^${label}:\\s*(.+)$`, 'm').exec(out)?.[1]?.trim() ?? '';
    return { library: field('Library version'), driver: field('Driver version') };
  }

  /** Target names the kernel has loaded (`dmsetup targets`). */
  async targets(): Promise<string[]> {
    return (await this.dm(['targets'])).stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
  }

  // --- the pool messages ---------------------------------------------------------

  createThin(pool: string, deviceId: number): Promise<void> {
    return this.message(pool, `create_thin ${deviceId}`);
  }

  createSnap(pool: string, deviceId: number, originId: number): Promise<void> {
    return this.message(pool, `create_snap ${deviceId} ${originId}`);
  }

  deleteThin(pool: string, deviceId: number): Promise<void> {
    return this.message(pool, `delete ${deviceId}`);
  }

  setTransactionId(pool: string, current: number, next: number): Promise<void> {
    return this.message(pool, `set_transaction_id ${current} ${next}`);
  }
}

/** The table dockerd's CreatePool loads: 32768-block low-water mark, no zeroing of new blocks (the filesystem never reads unwritten blocks). */
export function poolTable(dataSectors: number, metadataDev: string, dataDev: string, blockSectors: number): string {
  return `0 ${dataSectors} thin-pool ${metadataDev} ${dataDev} ${blockSectors} 32768 1 skip_block_zeroing`;
}

/** The table of one thin device (dockerd's ActivateDevice). */
export function thinTable(sizeBytes: number, poolDev: string, deviceId: number): string {
  return `0 ${Math.floor(sizeBytes / SECTOR)} thin ${poolDev} ${deviceId}`;
}

export function parseInfo(text: string): DmInfo {
  const field = (label: string) => new RegExp(`^${label}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const state = field('State');
  const [major, minor] = field('Major, minor').split(',').map((s) => Number(s.trim()));
  return {
    exists: state !== '',
    openCount: Number(field('Open count') || 0),
    suspended: /SUSPENDED/.test(state),
    deferredRemove: /DEFERRED REMOVE/.test(state),
    major: major ?? 0,
    minor: minor ?? 0,
  };
}

export function parseTableLine(text: string): DmStatus {
  const line = text.trim().split('\n')[0] ?? '';
  const m = /^(\d+)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line.trim());
  if (!m) throw new Error(`devmapper: cannot parse device-mapper status line ${JSON.stringify(line)}`);
  return { start: Number(m[1]), length: Number(m[2]), target: m[3]!, params: m[4] ?? '' };
}

export function parsePoolStatus(s: DmStatus): PoolStatus {
  const m = /^(\d+)\s+(\d+)\/(\d+)\s+(\d+)\/(\d+)/.exec(s.params);
  if (!m) throw new Error(`devmapper: cannot parse thin-pool status ${JSON.stringify(s.params)}`);
  return {
    totalSectors: s.length,
    transactionId: Number(m[1]),
    metadataUsed: Number(m[2]),
    metadataTotal: Number(m[3]),
    dataUsed: Number(m[4]),
    dataTotal: Number(m[5]),
  };
}
