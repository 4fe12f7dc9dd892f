import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCliAvailable } from '../../helpers/berthd-process.js';
import { busyboxAvailable } from '../../helpers/busybox-rootfs.js';
import { startContainerDaemon, type ContainerDaemon } from './harness.js';

/** Why the container end-to-end tests cannot run on this machine, or false. */
export const containerE2eSkip: string | false = !dockerCliAvailable ? 'the docker CLI is not installed'
  : !busyboxAvailable ? 'busybox-static is not installed'
  : process.getuid?.() !== 0 ? 'needs root'
  : false;

export interface DaemonSuite {
  /** The daemon, once `before` has run. */
  readonly c: ContainerDaemon;
  /** Runs the docker CLI, asserts exit 0 (the message names the command and its stderr), returns stdout. */
  ok(args: string[]): string;
}

/**
 * The common preamble of a container e2e `describe`: one ContainerDaemon
 * (busybox imported as bbox:1) started before the suite's tests and stopped
 * after them. Call it in the describe body.
 */
export function containerDaemonSuite(config: Record<string, unknown> = {}): DaemonSuite {
  let c: ContainerDaemon | undefined;
  before(async () => { c = await startContainerDaemon(config); });
  after(async () => { await c?.stop(); });
  const suite: DaemonSuite = {
    get c() {
      if (!c) throw new Error('the suite\'s daemon is not started');
      return c;
    },
    ok(args) {
      const r = suite.c.d.docker(args, { timeoutMs: 60_000 });
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
  };
  return suite;
}
