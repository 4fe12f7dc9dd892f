import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The "runtime" conmon drives for exec-lxc. conmon (the per-container monitor
 * exec-libcontainer uses) only ever runs its runtime twice: `create` for the
 * container and `exec --detach` per `docker exec`; it expects the runtime to
 * leave a process behind, write its pid to `--pid-file` and exit. This shim
 * does exactly that with a prepared script — start.sh (which waits for
 * Task.start, then becomes `lxc-start -F`) or exec.sh (which becomes
 * `lxc-attach`) — run in the background with conmon's pipes as its stdio;
 * conmon, the subreaper, inherits it, holds its output and records its exit.
 *
 * It is also LXC's `lxc.hook.start-host` (`shim hook lo tty …`), run on the
 * host after the container is set up and before its init runs:
 *   lo   sets the loopback device of a private network namespace up (LXC's
 *        `lxc.net.0.type = empty` leaves it down; dockerd's is up);
 *   sysctl:<file>  writes the container's sysctls (`<path> <value>` lines) in
 *        its net/ipc/uts namespaces: LXC's own lxc.sysctl runs after /proc/sys
 *        was made read-only, as dockerd's is, and fails;
 *   tty  turns ONLCR off on the container's console: lxc-start proxies the
 *        console to its controlling terminal and forces ONLCR there, so
 *        without this every newline would reach the client as \r\r\n.
 *
 * And LXC's `lxc.hook.stop` (`shim oom <marker> <file>`), run after the
 * container's processes ended and before LXC removes its cgroup: it leaves
 * the marker when the cgroup's memory file counts an OOM kill (`oom_kill N`
 * in v1 memory.oom_control and v2 memory.events; v1's `under_oom 1` too, the
 * event conmon's eventfd reports for runc when the OOM killer is disabled).
 *
 * A shell script, not a Node process: nothing of it stays running except the
 * script's own exec'd successor. The script is forked by perl, which exits
 * without waiting, so conmon (the subreaper) adopts it and is the only process
 * that can reap it and read its exit status.
 */
export const SHIM_SCRIPT = `#!/bin/sh
# Written by berthd (plugins/exec-lxc/shim-script.ts); do not edit.
set -u
if [ "\${1:-}" = hook ]; then
  shift
  for w in "$@"; do
    case "$w" in
      lo) nsenter --net="/proc/$LXC_PID/ns/net" ip link set lo up || exit 1 ;;
      tty) stty -F "/proc/$LXC_PID/root/dev/console" -onlcr 2>/dev/null || true ;;
      sysctl:*)
        nsenter --net="/proc/$LXC_PID/ns/net" --ipc="/proc/$LXC_PID/ns/ipc" --uts="/proc/$LXC_PID/ns/uts" \
          sh -c 'while read -r k v; do printf "%s\n" "$v" > "/proc/sys/$k" || exit 1; done' < "\${w#sysctl:}" || exit 1 ;;
    esac
  done
  exit 0
fi
if [ "\${1:-}" = oom ]; then
  grep -qE '^(oom_kill [1-9]|under_oom 1)' "$3" 2>/dev/null && : > "$2"
  exit 0
fi
cmd= bundle=. pidfile= process= id=
while [ $# -gt 0 ]; do
  case "$1" in
    create|exec) [ -z "$cmd" ] && cmd=$1 ;;
    --bundle|-b) bundle=$2; shift ;;
    --pid-file) pidfile=$2; shift ;;
    --process|-p) process=$2; shift ;;
    --console-socket) echo "exec-lxc: the shim cannot take a console socket" >&2; exit 1 ;;
    --root|--log|--log-format|--criu) shift ;;
    -*) ;;
    *) id=$1 ;;
  esac
  shift
done
case "$cmd" in
  create) script=$bundle/start.sh ;;
  exec) script=$process ;;
  *) echo "exec-lxc shim: unsupported command: $cmd" >&2; exit 1 ;;
esac
[ -n "$pidfile" ] || { echo "exec-lxc shim: --pid-file missing" >&2; exit 1; }
cd /
# perl forks the script, writes its pid and exits without ever waiting: the script is
# adopted by conmon (the subreaper), the only process that may reap it. A shell must not be
# its parent: dash reaps any child that ends while it still runs (on SIGCHLD, or waiting
# for a foreground command), and a quick exec reaped there is lost to conmon, which then
# finds no child to wait for and records -1 (docker exec exits 255). conmon reads the pid
# file after the shim exited, so it is complete without a rename. The script keeps the
# shim's stdio: conmon's pipes.
exec perl -e '
  my ($pidfile, $script) = @ARGV;
  my $pid = fork;
  defined $pid or die "exec-lxc shim: fork: $!\n";
  if ($pid == 0) { exec("sh", $script) or die "exec-lxc shim: sh $script: $!\n"; }
  open(my $f, ">", $pidfile) or die "exec-lxc shim: $pidfile: $!\n";
  print $f $pid;
  close($f) or die "exec-lxc shim: $pidfile: $!\n";
  exit 0;
' "$pidfile" "$script"
`;

/** Writes the shim (atomically, once per content) and returns its path. */
export async function installShim(stateDir: string): Promise<string> {
  const path = join(stateDir, 'lxc-shim');
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current === SHIM_SCRIPT) return path;
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, SHIM_SCRIPT, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, path);
  return path;
}
