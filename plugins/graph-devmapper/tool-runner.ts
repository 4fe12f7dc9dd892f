import { runCommand } from '../graph-common/run-command.js';

/** Output of one finished helper tool (dmsetup, losetup, mkfs …), text only. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How the driver runs its helper tools. dockerd links libdevmapper; Node has
 * no binding, so every device-mapper, loop and filesystem operation is one
 * process. Keeping the spawn behind this one function lets the unit tests
 * check the exact command lines with a recording fake, on hosts without
 * device-mapper.
 */
export type ToolRunner = (cmd: string, args: string[]) => Promise<ToolResult>;

export const spawnRunner: ToolRunner = async (cmd, args) => {
  const t0 = Date.now();
  const r = await runCommand(cmd, args);
  // BERTH_DM_TRACE=1 prints every tool run with its duration (where time goes under emulation).
  if (process.env.BERTH_DM_TRACE) process.stderr.write(`[dm-trace] ${Date.now() - t0}ms rc=${r.code} ${cmd} ${args.join(' ')}\n`);
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
};

/** A failed tool run; `errno` is the kernel error the tool reported, when it said one. */
export class ToolError extends Error {
  constructor(readonly cmd: string, readonly args: string[], readonly result: ToolResult) {
    super(`${cmd} ${args.join(' ')}: ${result.stderr || result.stdout.trim() || `exit status ${result.code}`}`);
    this.name = 'ToolError';
  }

  get errno(): 'EBUSY' | 'ENXIO' | 'EEXIST' | 'ENODEV' | 'ENOENT' | undefined {
    const text = this.result.stderr;
    if (/Device or resource busy/i.test(text)) return 'EBUSY';
    if (/No such device or address/i.test(text)) return 'ENXIO';
    if (/File exists/i.test(text)) return 'EEXIST';
    if (/Device does not exist/i.test(text)) return 'ENOENT';
    if (/No such device\b/i.test(text)) return 'ENODEV';
    return undefined;
  }
}

/** Runs and throws ToolError on a non-zero exit. */
export async function runTool(run: ToolRunner, cmd: string, args: string[]): Promise<ToolResult> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new ToolError(cmd, args, r);
  return r;
}
