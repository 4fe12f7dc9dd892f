/**
 * go-units HumanDuration, which dockerd uses for the STATUS column of
 * `docker ps` ("Up 4 minutes", "Exited (0) 11 seconds ago").
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/**
 * How long (ms, > 0) humanDuration(ms) keeps its text: the time to the next
 * boundary of the unit it counts in (seconds under a minute, minutes under an
 * hour, then rounded hours, from which days, weeks, months and years follow).
 * Lets a caller reuse the text until then instead of recomputing it.
 */
export function humanDurationStableFor(ms: number): number {
  if (ms < 60_000) return (Math.floor(ms / 1000) + 1) * 1000 - ms;
  if (ms < 3_600_000) return (Math.floor(ms / 60_000) + 1) * 60_000 - ms;
  return (Math.floor(ms / 3_600_000 + 0.5) + 0.5) * 3_600_000 - ms;
}
