/**
 * A tiny in-memory device-mapper behind a ToolRunner: enough dmsetup,
 * losetup, mkfs, blkid and mount to drive the devicemapper driver on a host
 * without device-mapper, recording every command line. It keeps the kernel
 * rules the driver relies on: a thin id exists once, `delete` is refused
 * (EBUSY) while the device is active, set_transaction_id must name the
 * current id, a device in use cannot be removed except deferred.
 */
import type { ToolResult, ToolRunner } from '../../../plugins/graph-devmapper/tool-runner.js';

interface Pool { transactionId: number; thins: Set<number>; sectors: number; dataUsed: number }
interface Dev { table: string; open: number; deferred: boolean; suspended: boolean; minor: number }

export class FakeDm {
  readonly calls: string[] = [];
  readonly pools = new Map<string, Pool>();
  readonly devs = new Map<string, Dev>();
  readonly loops = new Map<string, string>(); // /dev/loopN -> file
  readonly mounts = new Map<string, string>(); // mount point -> device name
  driverVersion = '4.47.0';
  private minor = 0;

  readonly run: ToolRunner = async (cmd, args) => {
    this.calls.push([cmd, ...args].join(' '));
    return this.exec(cmd, args);
  };

  /** Calls recorded since the last take(), then forgets them. */
  take(): string[] {
    return this.calls.splice(0);
  }

  /** Makes a pool as an administrator would for dm.thinpooldev. */
  addPool(name: string, sectors = 2097152): void {
    this.pools.set(name, { transactionId: 0, thins: new Set(), sectors, dataUsed: 0 });
    this.devs.set(name, { table: `0 ${sectors} thin-pool 7:1 7:0 128 32768 1 skip_block_zeroing`, open: 0, deferred: false, suspended: false, minor: this.minor++ });
  }

  private exec(cmd: string, args: string[]): ToolResult {
    const ok = (stdout = ''): ToolResult => ({ code: 0, stdout, stderr: '' });
    const fail = (stderr: string): ToolResult => ({ code: 1, stdout: '', stderr });
    switch (cmd) {
      case 'dmsetup': return this.dmsetup(args, ok, fail);
      case 'losetup': {
        if (args[0] === '--associated') return ok([...this.loops].filter(([, f]) => f === args[1]).map(([d]) => d + '\n').join(''));
        if (args[0] === '--find') {
          const file = args.at(-1)!;
          const existing = [...this.loops].find(([, f]) => f === file);
          if (existing && args.includes('--nooverlap')) return ok(existing[0] + '\n');
          const dev = `/dev/loop${this.loops.size}`;
          this.loops.set(dev, file);
          return ok(dev + '\n');
        }
        if (args[0] === '--detach') return this.loops.delete(args[1]!) ? ok() : fail(`losetup: ${args[1]}: detach failed`);
        return fail('losetup: unexpected');
      }
      case 'blockdev': return ok('1073741824\n');
      case 'mkfs.ext4':
        return ok('Creating filesystem with 262144 4k blocks and 65536 inodes\nFilesystem UUID: 3f1c9a52-0000-4000-8000-000000000001\nSuperblock backups stored on blocks: \n');
      case 'mkfs.xfs': case 'tune2fs': case 'blkdiscard': case 'resize2fs': case 'xfs_growfs':
        return ok();
      case 'blkid': return ok(args[3] === 'UUID' ? '3f1c9a52-0000-4000-8000-000000000001\n' : 'ext4\n');
      case 'mount': {
        const n = args.at(-2)!.replace('/dev/mapper/', '');
        const dev = this.devs.get(n);
        if (!dev) return fail(`mount: ${args.at(-1)}: special device ${args.at(-2)} does not exist.`);
        dev.open++;
        this.mounts.set(args.at(-1)!, n);
        return ok();
      }
      case 'umount': {
        const target = args.at(-1)!;
        const n = this.mounts.get(target);
        if (n === undefined) return fail(`umount: ${target}: not mounted.`);
        this.mounts.delete(target);
        const dev = this.devs.get(n);
        if (dev) {
          dev.open--;
          if (dev.open === 0 && dev.deferred) this.devs.delete(n);
        }
        return ok();
      }
      default: return fail(`${cmd}: command not found`);
    }
  }

  private dmsetup(args: string[], ok: (s?: string) => ToolResult, fail: (s: string) => ToolResult): ToolResult {
    const name = (n: string) => n.replace('/dev/mapper/', '');
    switch (args[0]) {
      case 'version': return ok(`Library version:   1.02.185 (2022-05-18)\nDriver version:    ${this.driverVersion}\n`);
      case 'targets': return ok('thin-pool        v1.22.0\nthin             v1.22.0\nlinear           v1.4.0\n');
      case 'info': {
        const d = this.devs.get(args[1]!);
        if (!d) return fail('Device does not exist.\nCommand failed.');
        const state = (d.suspended ? 'SUSPENDED' : 'ACTIVE') + (d.deferred ? ' (DEFERRED REMOVE)' : '');
        return ok(`Name:              ${args[1]}\nState:             ${state}\nRead Ahead:        256\nTables present:    LIVE\nOpen count:        ${d.open}\nEvent number:      0\nMajor, minor:      253, ${d.minor}\nNumber of targets: 1\n`);
      }
      case 'create': {
        const n = args[1]!;
        const table = args[3]!;
        if (this.devs.has(n)) return fail(`device-mapper: create ioctl on ${n}  failed: Device or resource busy\nCommand failed.`);
        const f = table.split(' ');
        if (f[2] === 'thin-pool') this.pools.set(n, { transactionId: 0, thins: new Set(), sectors: Number(f[1]), dataUsed: 0 });
        if (f[2] === 'thin' && !this.pools.get(name(f[3]!))?.thins.has(Number(f[4]))) return fail(`device-mapper: reload ioctl on ${n}  failed: No data available\nCommand failed.`);
        this.devs.set(n, { table, open: 0, deferred: false, suspended: false, minor: this.minor++ });
        return ok();
      }
      case 'remove': {
        const deferred = args[1] === '--deferred';
        const n = args[deferred ? 2 : 1]!;
        const d = this.devs.get(n);
        if (!d) return fail(`device-mapper: remove ioctl on ${n}  failed: No such device or address\nCommand failed.`);
        if (d.open > 0) {
          if (deferred) { d.deferred = true; return ok(); }
          return fail(`device-mapper: remove ioctl on ${n}  failed: Device or resource busy\nCommand failed.`);
        }
        this.devs.delete(n);
        this.pools.delete(n);
        return ok();
      }
      case 'suspend': case 'resume': {
        const d = this.devs.get(args[1]!);
        if (!d) return fail('Device does not exist.');
        d.suspended = args[0] === 'suspend';
        return ok();
      }
      case 'status': case 'table': {
        const n = args[1]!;
        const d = this.devs.get(n);
        if (!d) return fail('Device does not exist.\nCommand failed.');
        const p = this.pools.get(n);
        if (args[0] === 'table' || !p) return ok(args[0] === 'table' ? d.table + '\n' : `${d.table.split(' ').slice(0, 3).join(' ')} 0 -\n`);
        return ok(`0 ${p.sectors} thin-pool ${p.transactionId} 100/8192 ${p.dataUsed}/16384 - rw discard_passdown queue_if_no_space - 1024\n`);
      }
      case 'message': {
        const target = name(args[1]!);
        const msg = args[3]!.split(' ');
        if (msg[0] === '@cancel_deferred_remove') {
          const d = this.devs.get(target);
          if (!d || !d.deferred) return fail(`device-mapper: message ioctl on ${target}  failed: No such device or address`);
          d.deferred = false;
          return ok();
        }
        const p = this.pools.get(target);
        if (!p) return fail(`device-mapper: message ioctl on ${target}  failed: Invalid argument`);
        const exists = () => fail(`device-mapper: message ioctl on ${target}  failed: File exists\nCommand failed.`);
        switch (msg[0]) {
          case 'create_thin':
            if (p.thins.has(Number(msg[1]))) return exists();
            p.thins.add(Number(msg[1]));
            return ok();
          case 'create_snap':
            if (p.thins.has(Number(msg[1]))) return exists();
            if (!p.thins.has(Number(msg[2]))) return fail(`device-mapper: message ioctl on ${target}  failed: No data available`);
            p.thins.add(Number(msg[1]));
            return ok();
          case 'delete': {
            const id = Number(msg[1]);
            const active = [...this.devs.values()].some((d) => d.table.endsWith(` thin /dev/mapper/${target} ${id}`));
            if (active) return fail(`device-mapper: message ioctl on ${target}  failed: Device or resource busy\nCommand failed.`);
            if (!p.thins.delete(id)) return fail(`device-mapper: message ioctl on ${target}  failed: No data available`);
            return ok();
          }
          case 'set_transaction_id':
            if (Number(msg[1]) !== p.transactionId) return fail(`device-mapper: message ioctl on ${target}  failed: Invalid argument`);
            p.transactionId = Number(msg[2]);
            return ok();
          default:
            return fail(`device-mapper: message ioctl on ${target}  failed: Invalid argument`);
        }
      }
      default: return fail(`dmsetup: unknown command ${args[0]}`);
    }
  }
}
