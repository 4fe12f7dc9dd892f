import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { SystemError } from '../../kernel/index.js';
import { runtimeMessage } from './runc-cli.js';
import { spawnHelper } from './spawn-helper.js';

/**
 * The per-container monitor: Debian's `conmon` (containers/conmon 2.1, as
 * podman and CRI-O use it). One small C process per container — about 2 MiB
 * RSS — instead of a Node process: it is the runtime's parent (`runc create`
 * / `runc exec --detach`), becomes the container's subreaper, holds its stdio
 * or pty, writes every output line to a log file in the CRI format, records
 * the exit status to files and notes OOM kills; it double-forks and setsid()s,
 * so it keeps running — and logging — while berthd is stopped or restarted.
 *
 * Files conmon keeps in the monitor directory (`-b`, also its cwd and `-0`
 * persist dir):
 *   attach    SOCK_SEQPACKET socket: bytes written go to the process's stdin;
 *             readers get output packets [1-byte stream id][bytes]
 *   ctl       FIFO, "1 <h> <w>\n" resizes the pty, "2 0 0\n" reopens the log
 *   winsz     FIFO used by conmon itself
 *   exit      exit status ("137"), written after the output is drained
 *   oom       exists if the cgroup saw an OOM kill
 * and `--exit-dir/<cid>` with the same status (one directory to watch).
 *
 * Handshake: conmon reports `{"data": <pid>}` (or `-1` and the runtime's
 * stderr as "message") on the pipe named by _OCI_SYNCPIPE once the runtime has
 * created the process; for exec a second message carries the exit code,
 * which we do not wait for (the exit file says the same and survives us).
 */
export interface MonitorLaunch {
  conmonPath: string;
  runtimePath: string;
  /** Global runtime arguments (`--root …`), passed as `--runtime-arg`s. */
  runtimeArgs: string[];
  /** Container id (`-c`); for exec, the container to exec in. */
  containerId: string;
  /** Session id (`-u`): the container id, or the exec id. */
  sessionId: string;
  /** Monitor directory: OCI bundle for create; per-exec directory for exec. */
  dir: string;
  pidFile: string;
  conmonPidFile: string;
  logPath: string;
  exitDir: string;
  terminal: boolean;
  /** Open a stdin pipe (`-i`); with `leaveStdinOpen` a detaching client does not close it. */
  stdin: boolean;
  leaveStdinOpen: boolean;
  /** For exec: path of the OCI process JSON. */
  execProcessSpec?: string;
}

export interface MonitorStarted {
  /** Host pid of the container process (init or exec). */
  pid: number;
  /** Pid of the long-lived conmon. */
  monitorPid: number;
}

/** Error from the runtime as conmon relayed it (the message is the runtime's own). */
export class RuntimeCreateError extends SystemError {}

/** Starts conmon for a create or an exec and waits for the runtime's verdict. */
export async function launchMonitor(o: MonitorLaunch): Promise<MonitorStarted> {
  const args = [
    '--api-version', '1',
    '-c', o.containerId, '-u', o.sessionId,
    '-r', o.runtimePath,
    '-b', o.dir,
    '-p', o.pidFile,
    '-P', o.conmonPidFile,
    '-l', `k8s-file:${o.logPath}`,
    '--exit-dir', o.exitDir,
    '--full-attach',
    '--log-level', 'error',
    // No fsync of the output spool when the process ends: conmon does it before it writes the
    // exit status, so every exit waited on the disk. The spool survives a daemon crash without
    // it (page cache), and the log it feeds is not synced either (as dockerd's json-file).
    '--no-sync-log',
    ...o.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
  ];
  if (o.execProcessSpec) args.push('-e', '--exec-process-spec', o.execProcessSpec);
  else args.push('-0', o.dir);
  if (o.terminal) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');

  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' };
  const first = spawnHelper.available() ? await viaHelper(o, args, env) : await viaSpawn(o, args, env);
  if (first.data < 0) {
    throw new RuntimeCreateError(runtimeMessage(first.message ?? '') || `runtime failed with status ${-first.data}`);
  }
  const monitorPid = Number((await readFile(o.conmonPidFile, 'utf8')).trim());
  return { pid: first.data, monitorPid };
}

type SyncMessage = { data: number; message?: string };

function parseSync(line: string): SyncMessage {
  try {
    return JSON.parse(line) as SyncMessage;
  } catch (err) {
    throw new SystemError(`conmon: bad sync message ${JSON.stringify(line)}`, { cause: err });
  }
}

/** conmon forked by the long-lived spawn helper (no fork of the daemon; see spawn-helper.ts). */
async function viaHelper(o: MonitorLaunch, args: string[], env: Record<string, string>): Promise<SyncMessage> {
  const r = await spawnHelper.run(o.conmonPath, args, o.dir, env, sealedRuntime(o.runtimePath)).catch((err: Error) => {
    throw new SystemError(`conmon: ${err.message}`, { cause: err });
  });
  const text = r.fd3.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0) {
    const stderr = r.stderr.toString('utf8').trim();
    throw new RuntimeCreateError(`conmon failed: ${stderr || (r.signal !== null ? `signal ${r.signal}` : `exit status ${r.code}`)}`);
  }
  return parseSync(text.slice(0, nl));
}

/**
 * runc is handed to conmon as the spawn helper's sealed memfd copy of it
 * (spawn-helper.ts): `runc init`, which runc starts as /proc/self/exe, then
 * finds itself already in a sealed memfd and skips the protection it
 * otherwise sets up for every container against a container overwriting the
 * runc binary (a bind mount of itself, remounted read-only, opened,
 * unmounted, and a second execve) — the same protection, made once. Other
 * runtimes (crun has no such step) are run from their path.
 */
function sealedRuntime(runtimePath: string): string[] {
  return basename(runtimePath) === 'runc' ? [runtimePath] : [];
}

/** conmon spawned by the daemon itself (no perl, or BERTH_SPAWN_HELPER=0). */
async function viaSpawn(o: MonitorLaunch, args: string[], env: Record<string, string>): Promise<SyncMessage> {
  const child = spawn(o.conmonPath, args, {
    cwd: o.dir, // conmon also drops an `oom` file into its cwd
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env,
  });
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b));
  const sync = child.stdio[3] as Readable;

  const first = await new Promise<{ data: number; message?: string } | undefined>((resolve, reject) => {
    let buf = '';
    const done = (v: { data: number; message?: string } | undefined) => {
      sync.removeAllListeners('data');
      sync.destroy(); // later messages (exec exit code) are not needed: the exit file has them
      resolve(v);
    };
    sync.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          done(JSON.parse(buf.slice(0, nl)) as { data: number; message?: string });
        } catch (err) {
          reject(new SystemError(`conmon: bad sync message ${JSON.stringify(buf.slice(0, nl))}`, { cause: err }));
        }
      }
    });
    sync.on('end', () => done(undefined));
    sync.on('error', () => done(undefined));
    child.on('error', (err) => reject(new SystemError(`conmon: ${err.message}`, { cause: err })));
  });
  await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('close', () => r())));

  if (!first) {
    const text = Buffer.concat(stderr).toString('utf8').trim();
    throw new RuntimeCreateError(`conmon failed: ${text || `exit status ${child.exitCode}`}`);
  }
  return first;
}
