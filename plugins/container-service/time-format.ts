/** Go's zero time as dockerd prints it for never-set timestamps. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** The current time as Go's RFC3339Nano (9 fractional digits, UTC). */
export function nowRfc3339Nano(): string {
  const ns = process.hrtime.bigint() % 1_000_000n;
  const iso = new Date().toISOString(); // …sss
  return `${iso.slice(0, 23)}${String(ns).padStart(6, '0')}Z`;
}

/** A Date as RFC3339 with nine fractional digits (a Date holds milliseconds). */
export function rfc3339Nano(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000000Z`;
}

/** Unix nanoseconds as RFC3339 with a fixed nine-digit fraction (docker logs -t). */
export function nanoToRfc3339(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(frac).padStart(9, '0')}Z`;
}
