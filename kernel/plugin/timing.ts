/** Runs a hook and reports how long it took, in milliseconds, even when it throws. */
export async function timed<T>(fn: () => Promise<T> | T, report: (ms: number) => void): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    report(Math.round((performance.now() - t0) * 100) / 100);
  }
}
