import type { Readable } from 'node:stream';
import type { ImportOptions } from '../../kernel/index.js';
import type { ImageCore } from './image-core.js';
import { decompressStream } from './decompress.js';
import { applyChanges } from './dockerfile-changes.js';
import { formatRfc3339Nano, goJson, nowNs } from './go-format.js';
import { checkOs, goContainerConfig, sortKeys } from './image-config.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { repoTagReference } from './reference.js';
import { tagLocked } from './image-tag.js';

/**
 * ImportImage: a filesystem tar (plain or compressed) becomes a one-layer
 * image. Everything the request can get wrong (platform, repo, changes) is
 * checked before a byte is unpacked. The config is written the way dockerd
 * marshals it (top-level keys sorted, container configs in Go field order),
 * and its ID is the digest of exactly those bytes.
 */
export async function importImage(core: ImageCore, tar: Readable, opts: ImportOptions): Promise<string> {
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  checkOs(platform.os);
  const ref = repoTagReference(opts.repo, opts.tag);
  const config = applyChanges({}, opts.changes);
  // No worker booted ahead: a layer past a few MiB boots one when its first bytes are in (60-80 ms of CPU
  // beside the receiving), a small one (busybox) is unpacked without one (applyLayerTarOffThread).
  const layer = await core.layers.register(await decompressStream(tar), null);
  try {
    const created = formatRfc3339Nano(nowNs());
    const history: Record<string, string> = { created };
    if (opts.message) history.comment = opts.message;
    const doc: Record<string, unknown> = {
      architecture: platform.architecture,
      config: goContainerConfig(config),
      container_config: goContainerConfig({}),
      created,
      history: [history],
      os: platform.os,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    };
    if (opts.message) doc.comment = opts.message;
    if (platform.variant) doc.variant = platform.variant;
    const raw = Buffer.from(goJson(sortKeys(doc)));
    const id = await core.exclusive(async () => {
      const id = await core.createImage(raw);
      if (ref) await tagLocked(core, id, ref);
      return id;
    });
    core.emit('import', id, id);
    return id;
  } finally {
    await core.layers.release(layer.chainId);
  }
}
