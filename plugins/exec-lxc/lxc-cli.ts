import { execFile } from 'node:child_process';
import { ConflictError, NotFoundError, SystemError } from '../../kernel/index.js';
import type { LxcTools } from './lxc-files.js';

/**
 * LXC's command-line tools for one container: they reach its monitor
 * (`lxc-start`) through the abstract command socket named after the lxcpath
 * and the container name, so they work from any process — including a
 * restarted berthd.
 */
export class LxcCli {
  constructor(private readonly tools: LxcTools, private readonly name: string, private readonly lxcPath: string) {}

  /** `lxc-info -s`: RUNNING, FROZEN, STOPPED … or undefined when LXC does not know the container. */
  async state(): Promise<string | undefined> {
    try {
      const out = await this.run(this.tools.info, ['-s', '-H']);
      return out.trim() || undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** `lxc-wait -s STATES`: blocks until the container is in one of them (RUNNING|STOPPED). */
  waitFor(states: string, timeoutSec: number): Promise<string> { return this.run(this.tools.wait ?? 'lxc-wait', ['-s', states, '-t', String(timeoutSec)]); }
  freeze(): Promise<string> { return this.run(this.tools.freeze, []); }
  unfreeze(): Promise<string> { return this.run(this.tools.unfreeze, []); }
  /** `lxc-stop --kill`: SIGKILL to the container's init through its monitor. */
  kill(): Promise<string> { return this.run(this.tools.stop, ['--kill', '--nolock']); }
  /** `lxc-cgroup <key> <value>` on the running container (docker update). */
  setCgroup(key: string, value: string): Promise<string> { return this.run(this.tools.cgroup, [key, value]); }

  private run(tool: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(tool, ['-n', this.name, '-P', this.lxcPath, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const msg = (stderr || err.message).trim();
        if (/is not running|doesn't exist|does not exist|not defined/i.test(msg)) return reject(new NotFoundError(`container ${this.name} is not running: ${msg}`));
        if (/not frozen|already frozen/i.test(msg)) return reject(new ConflictError(msg));
        reject(new SystemError(`${tool.split('/').pop()}: ${msg}`));
      });
    });
  }
}
