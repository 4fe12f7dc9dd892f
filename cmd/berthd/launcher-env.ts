/**
 * Removes what bin/berthd set for node's own start from the environment the
 * daemon passes on: GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (huge pages for
 * malloc's large blocks, which make node's read of the startup snapshot
 * cheaper) was meant for this process only, and glibc has read it already.
 * conmon, runc and the other helpers berthd starts get the environment the
 * user gave berthd. A GLIBC_TUNABLES the user set is kept (bin/berthd leaves
 * it alone and does not set the marker).
 */
export function dropLauncherEnv(env: NodeJS.ProcessEnv): void {
  if (env.BERTH_LAUNCH_GLIBC_TUNABLES !== '1') return;
  delete env.GLIBC_TUNABLES;
  delete env.BERTH_LAUNCH_GLIBC_TUNABLES;
}
