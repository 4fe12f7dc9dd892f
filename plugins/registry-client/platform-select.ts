import type { Platform } from '../image-store/platform.js';
import type { Descriptor } from './manifest-parse.js';

/**
 * Manifest-list entry selection as dockerd's filterManifests with
 * containerd's platforms.Only: the requested platform first, then the
 * platforms it can also run (lower amd64 levels and 386 on amd64; older arm
 * variants on arm; arm/v8…v5 on arm64), in that order of preference.
 */
export function platformVector(p: Platform): Platform[] {
  const out: Platform[] = [p];
  const v = p.variant ? Number(p.variant.replace(/^v/, '')) : NaN;
  if (p.architecture === 'amd64') {
    if (!Number.isNaN(v)) for (let i = v - 1; i >= 1; i--) out.push({ os: p.os, architecture: 'amd64', variant: i === 1 ? undefined : `v${i}` });
    out.push({ os: p.os, architecture: '386' });
  } else if (p.architecture === 'arm') {
    for (let i = (Number.isNaN(v) ? 7 : v) - 1; i >= 5; i--) out.push({ os: p.os, architecture: 'arm', variant: `v${i}` });
  } else if (p.architecture === 'arm64') {
    out.push({ os: p.os, architecture: 'arm', variant: 'v8' });
    for (let i = 7; i >= 5; i--) out.push({ os: p.os, architecture: 'arm', variant: `v${i}` });
  }
  return out;
}

function normVariant(arch: string, variant: string | undefined): string | undefined {
  if (!variant) return arch === 'arm' ? 'v7' : undefined;
  if (arch === 'arm64' && (variant === 'v8' || variant === '8')) return undefined;
  if (arch === 'amd64' && variant === 'v1') return undefined;
  return /^\d+$/.test(variant) ? `v${variant}` : variant;
}

function matches(want: Platform, have: NonNullable<Descriptor['platform']>): boolean {
  const arch = ({ x86_64: 'amd64', aarch64: 'arm64' } as Record<string, string>)[have.architecture] ?? have.architecture;
  return have.os === want.os && arch === want.architecture && normVariant(arch, have.variant) === normVariant(want.architecture, want.variant);
}

/** The entries that run on `want`, best first (stable for equal preference, as the list's order). */
export function selectManifests(entries: Descriptor[], want: Platform): Descriptor[] {
  const vector = platformVector(want);
  const scored: Array<{ d: Descriptor; rank: number; i: number }> = [];
  entries.forEach((d, i) => {
    if (!d.platform) return;
    const rank = vector.findIndex((p) => matches(p, d.platform!));
    if (rank >= 0) scored.push({ d, rank, i });
  });
  return scored.sort((a, b) => a.rank - b.rank || a.i - b.i).map((s) => s.d);
}

/** platforms.FormatAll. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}
