/**
 * Milliseconds since the process started. process.uptime() rather than
 * performance.now(): the `performance` global loads perf_hooks and eight of
 * Node's internal modules on first use, compiled at every daemon start.
 */
export function msSinceStart(): number {
  return process.uptime() * 1000;
}

/** Runs a hook and reports how long it took, in milliseconds, even when it throws. */
export async function timed<T>(fn: () => Promise<T> | T, report: (ms: number) => void): Promise<T> {
  const t0 = msSinceStart();
  try {
    return await fn();
  } finally {
    report(Math.round((msSinceStart() - t0) * 100) / 100);
  }
}
