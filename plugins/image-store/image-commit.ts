import type { CommitRequest } from '../../kernel/index.js';
import type { ImageCore } from './image-core.js';
import { formatRfc3339Nano, goJson, nowNs } from './go-format.js';
import { goContainerConfig, sortKeys } from './image-config.js';
import { hostPlatform } from './platform.js';
import { familiarString, repoTagReference } from './reference.js';
import { tagLocked } from './image-tag.js';
import { commitConfig } from './commit-config.js';

/** layer.DigestSHA256EmptyTar: the diff ID of a tar with no entries (1024 zero bytes). */
const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/**
 * CommitImage + image.NewChildImage: the container's diff becomes a layer on
 * top of the parent's chain (the config is checked first: a bad reference
 * or `--change` costs nothing), and the child config copies the parent's
 * rootfs and history and appends one entry. An empty diff adds no layer
 * (dockerd's `empty_layer` history entry).
 *
 * Events: `image create` (as moby's image service does for a commit since
 * the containerd store), `image tag` when tagged; the caller emits the
 * container's `commit`.
 */
export async function commitImage(core: ImageCore, req: CommitRequest): Promise<{ id: string; ref: string }> {
  const ref = repoTagReference(req.repo, req.tag);
  const config = commitConfig(req.config, req.changes, req.containerConfig);
  const parent = core.resolve(req.parentImageId);
  const parentTop = parent.chain[parent.chain.length - 1] ?? null;
  // Hold the parent chain for the duration: an `rmi -f` meanwhile must not pull it away.
  if (parentTop !== null) core.layers.acquire(parentTop);
  try {
    const layer = await core.layers.register(await req.diff(), parentTop);
    try {
      const empty = layer.diffId === EMPTY_TAR_DIFF_ID;
      const created = formatRfc3339Nano(nowNs());
      const entry: Record<string, unknown> = { created };
      if (req.author) entry.author = req.author;
      const createdBy = (req.containerConfig.Cmd ?? []).join(' ');
      if (createdBy) entry.created_by = createdBy;
      if (req.comment) entry.comment = req.comment;
      if (empty) entry.empty_layer = true;
      const p = parent.config;
      const host = hostPlatform();
      const doc: Record<string, unknown> = {
        architecture: p.architecture || host.architecture,
        config: goContainerConfig(config),
        container: req.containerId,
        container_config: goContainerConfig(req.containerConfig),
        created,
        docker_version: req.dockerVersion,
        history: [...(p.history ?? []), entry],
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [...(p.rootfs.diff_ids ?? []), ...(empty ? [] : [layer.diffId])] },
      };
      if (req.author) doc.author = req.author;
      if (p.variant) doc.variant = p.variant;
      if (p['os.version']) doc['os.version'] = p['os.version'];
      if (p['os.features']?.length) doc['os.features'] = p['os.features'];
      const raw = Buffer.from(goJson(sortKeys(doc)));
      const id = await core.exclusive(async () => {
        const id = await core.createImage(raw);
        await core.setParent(id, parent.id);
        return id;
      });
      core.emit('create', id, id);
      if (ref) await core.exclusive(() => tagLocked(core, id, ref));
      return { id, ref: ref ? familiarString(ref) : '' };
    } finally {
      await core.layers.release(layer.chainId);
    }
  } finally {
    if (parentTop !== null) await core.layers.release(parentTop);
  }
}
