import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, type ConsoleSize, type ExecProcessConfig, type TaskIO } from '../../kernel/index.js';
import { ConmonExecProcess, type ConmonExecContext, type ExecLaunch } from '../conmon-task/index.js';
import { buildExecProcess } from '../exec-libcontainer/oci-spec.js';
import type { OciProcess, OciSpec } from '../exec-libcontainer/oci-types.js';
import { resolveInRoot } from '../exec-libcontainer/rootfs-path.js';
import { execScript } from './launch-scripts.js';
import type { LxcTaskRecord } from './lxc-files.js';
import { checkCommand } from './look-path.js';
import { resizeTty } from './tty-size.js';

export interface LxcExecContext extends ConmonExecContext<LxcTaskRecord> {
  lxcPath: string;
  shimPath: string;
}

/**
 * A `docker exec` in an LXC container: its own conmon (`conmon -e`), which
 * runs the shim's `exec`, which runs exec.sh, which becomes `lxc-attach`
 * into the container's namespaces, cgroup, capabilities and seccomp policy.
 * lxc-attach exits with the process's status (128+signal for a signal,
 * 127/126 when it cannot exec), so conmon's exit file is the exec's exit.
 *
 * Limits of lxc-attach: it has no working-directory option (it keeps its
 * caller's cwd), so a working directory other than / is entered with the
 * container's /bin/sh (`cd DIR && exec CMD`) — an exec with a working
 * directory in a container without /bin/sh is refused; and it sets no
 * supplementary groups: the exec runs with the user's uid and gid only.
 */
export class LxcExecProcess extends ConmonExecProcess<LxcTaskRecord, LxcExecContext> {
  private constructor(
    id: string,
    spec: OciProcess,
    private readonly argv: string[],
    io: TaskIO,
    ctx: LxcExecContext,
  ) {
    super(id, spec, io, ctx);
  }

  static async prepare(id: string, container: OciSpec, config: ExecProcessConfig, io: TaskIO, ctx: LxcExecContext): Promise<LxcExecProcess> {
    const p = await buildExecProcess(container, config, ctx.record.rootfs, ctx.record.user);
    const argv = ['-n', ctx.record.id, '-P', ctx.lxcPath, '-q', '--clear-env'];
    for (const e of p.env) argv.push('-v', e);
    argv.push('-u', String(p.user.uid), '-g', String(p.user.gid));
    if (config.Privileged) argv.push('--elevated-privileges=CAP');
    argv.push('--');
    const cwd = p.cwd || '/';
    if (cwd !== '/') {
      if (!existsSync(await resolveInRoot(ctx.record.rootfs, '/bin/sh'))) {
        throw new InvalidParameterError(`exec-lxc: lxc-attach cannot set the working directory (${cwd}) and the container has no /bin/sh to enter it`);
      }
      argv.push('/bin/sh', '-c', 'cd "$1" || exit 1; shift; exec "$@"', 'sh', cwd);
    }
    argv.push(...p.args);
    return new LxcExecProcess(id, p, argv, io, ctx);
  }

  /** exec.sh (lxc-attach, behind `script` for a TTY), run by the shim as conmon's "runtime". */
  protected async prepareLaunch(): Promise<ExecLaunch> {
    const r = this.ctx.record;
    await checkCommand(r.rootfs, this.spec.args[0] ?? '', this.spec.env);
    const terminal = this.spec.terminal === true;
    const stdin = this.io.stdin !== undefined;
    const ttyFile = join(this.ctx.dir, 'tty');
    const holdFifo = join(this.ctx.dir, 'stdin-hold');
    if (terminal && !stdin) execFileSync('mkfifo', ['-m', '600', holdFifo]);
    const scripts = execScript({ lxcAttach: [r.tools.attach, ...this.argv], terminal, stdin, ttyFile, holdFifo, consoleSize: this.spec.consoleSize });
    const specPath = join(this.ctx.dir, 'exec.sh');
    await writeFile(specPath, scripts.main);
    if (scripts.tty) await writeFile(`${ttyFile}.sh`, scripts.tty);
    // A TTY is made by `script` (launch-scripts.ts); conmon holds pipes.
    return { runtimePath: this.ctx.shimPath, runtimeArgs: [], execProcessSpec: specPath, terminal: false };
  }

  resize(size: ConsoleSize): Promise<void> {
    if (this.spec.terminal !== true) return Promise.reject(new ConflictError('the process has no terminal'));
    return resizeTty(join(this.ctx.dir, 'tty'), size);
  }
}
