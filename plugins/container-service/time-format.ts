/** Go's zero time as dockerd prints it for never-set timestamps. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** The current time as Go's RFC3339Nano (9 fractional digits, UTC). */
export function nowRfc3339Nano(): string {
  const ns = process.hrtime.bigint() % 1_000_000n;
  const iso = new Date().toISOString(); // …sss
  return `${iso.slice(0, 23)}${String(ns).padStart(6, '0')}Z`;
}
