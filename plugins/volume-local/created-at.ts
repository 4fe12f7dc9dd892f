/**
 * Go's `t.Format(time.RFC3339)` for a time in the daemon's local zone, which is
 * how dockerd prints a volume's CreatedAt: seconds precision, "Z" for UTC,
 * otherwise the numeric offset ("2026-01-02T15:04:05+01:00").
 */
export function rfc3339Local(d: Date): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(Math.floor(d.getTime() / 1000) * 1000 + off * 60_000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const sign = off > 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}
