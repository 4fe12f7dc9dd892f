import { open } from 'node:fs/promises';

// Random values for what a daemon makes on a new data root before its
// first answer (engine-id, the predefined networks' IDs), read from
// /dev/urandom: the kernel CSPRNG that node:crypto's randomBytes draws from
// too. node:crypto is kept out of the startup snapshot (it holds random
// pools and keys) and loading it costs 5–15 ms of a ~150 ms start; nothing
// else on the start path needs it.

/** `n` random bytes from the kernel. */
export async function randomBytesFromKernel(n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  const fh = await open('/dev/urandom', 'r');
  try {
    for (let off = 0; off < n;) {
      const { bytesRead } = await fh.read(b, off, n - off, null);
      if (bytesRead === 0) throw new Error('/dev/urandom: unexpected end of file');
      off += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return b;
}

/** A 64-hex-digit ID (32 random bytes), as dockerd's stringid.GenerateRandomID. */
export async function randomHexId(): Promise<string> {
  return (await randomBytesFromKernel(32)).toString('hex');
}

/** A random (version 4, RFC 4122) UUID, as crypto.randomUUID() makes. */
export async function randomUuid(): Promise<string> {
  const b = await randomBytesFromKernel(16);
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
