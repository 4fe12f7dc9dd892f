import { ConflictError, dockerEvent, errorKind, type DeleteRecord, type PruneOptions, type PruneReport } from '../../kernel/index.js';
import type { ContainerUse, ImageCore } from './image-core.js';
import { hexOf, shortId } from './digest.js';
import { rfc3339ToNs } from './go-format.js';
import { familiarString, parseNormalizedNamed, refName, refString, tagNameOnly, type Reference } from './reference.js';

/**
 * `docker rmi` and `docker image prune` with dockerd's rules
 * (daemon/images/image_delete.go, image_prune.go). `removeImage` callers
 * hold the store's exclusive lock.
 *
 * Conflicts: a *hard* one (child images; later, running containers) can
 * never be forced; a *soft* one (other references; later, stopped
 * containers) gives way to `force`. A name removes just that reference when
 * the image has others; an ID removes the image with all its references if
 * they are one tag (plus digests) of one repository, or with `force`.
 *
 * Containers come from the container service when one is active.
 */
export async function removeImage(core: ImageCore, refOrId: string, force: boolean, prune: boolean): Promise<DeleteRecord[]> {
  const img = core.resolve(refOrId);
  const id = img.id;
  const records: DeleteRecord[] = [];
  const containers = (await core.opts.containers?.()) ?? [];
  let repoRefs = core.references(id);
  let removedRepositoryRef = false;

  if (!isImageIdPrefix(id, refOrId)) {
    if (!force && isSingleReference(repoRefs)) {
      const user = containers.find((c) => c.image === id);
      if (user) {
        throw new ConflictError(`conflict: unable to remove repository reference "${refOrId}" (must force) - container ${user.id.slice(0, 12)} is using its referenced image ${shortId(id)}`);
      }
    }
    const ref = tagNameOnly(parseNormalizedNamed(refOrId));
    await core.refs.delete(ref);
    records.push({ Untagged: familiarString(ref) });
    core.emit('untag', id, id);
    repoRefs = core.references(id);
    // Removing the last tag of a repository also removes its digest references.
    if (ref.digest === undefined && !repoRefs.some((r) => r.digest === undefined && refName(r) === refName(ref))) {
      const remaining: Reference[] = [];
      for (const r of repoRefs) {
        if (r.digest !== undefined && refName(r) === refName(ref)) {
          await core.refs.delete(r);
          records.push({ Untagged: familiarString(r) });
        } else remaining.push(r);
      }
      repoRefs = remaining;
    }
    if (repoRefs.length > 0) return records;
    removedRepositoryRef = true;
  } else if (isSingleReference(repoRefs)) {
    const conflict = checkConflict(core, id, containers, { children: true, references: false, stopped: !force });
    if (conflict) throw conflict;
    for (const r of repoRefs) {
      const ref = tagNameOnly(r);
      await core.refs.delete(ref);
      core.emit('untag', id, id);
      records.push({ Untagged: familiarString(ref) });
    }
  }
  await deleteHelper(core, id, records, containers, force, prune, removedRepositoryRef);
  return records;
}

/**
 * Deletes the image unless a conflict stops it, then (with `prune`) its
 * parent chain, quietly: a parent that is still referenced simply stays.
 */
async function deleteHelper(
  core: ImageCore, id: string, records: DeleteRecord[], containers: ContainerUse[], force: boolean, prune: boolean, quiet: boolean,
): Promise<void> {
  const conflict = checkConflict(core, id, containers, { children: true, references: !force, stopped: !force });
  if (conflict) {
    const dangling = core.references(id).length === 0 && core.children(id).length === 0;
    if (quiet && (!dangling || conflict.used)) return;
    throw conflict;
  }
  const img = core.images.get(id);
  const parent = img?.parent ?? null;
  // An idle shared init layer on this image holds its layers: given up first, so they go with it (and are reported).
  const top = img?.chain[img.chain.length - 1];
  const topLayer = top === undefined ? undefined : core.layers.get(top)?.cacheId;
  if (topLayer !== undefined) await core.opts.evictCaches?.(topLayer);
  for (const r of core.references(id)) {
    const ref = tagNameOnly(r);
    await core.refs.delete(ref);
    core.emit('untag', id, id);
    records.push({ Untagged: familiarString(ref) });
  }
  const removedLayers = await core.deleteImage(id);
  core.emit('delete', id, id);
  records.push({ Deleted: id });
  for (const l of removedLayers) records.push({ Deleted: l.chainId });
  if (!prune || !parent || !core.images.has(parent)) return;
  await deleteHelper(core, parent, records, containers, false, true, true);
}

/** A delete conflict; `used` marks the container ones (quiet parent pruning reports those). */
class DeleteConflict extends ConflictError {
  constructor(id: string, hard: boolean, message: string, readonly used = false) {
    super(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`);
  }
}

function checkConflict(
  core: ImageCore, id: string, containers: ContainerUse[], what: { children: boolean; references: boolean; stopped: boolean },
): DeleteConflict | null {
  if (what.children && core.children(id).length > 0) return new DeleteConflict(id, true, 'image has dependent child images');
  const running = containers.find((c) => c.image === id && c.running);
  if (running) return new DeleteConflict(id, true, `image is being used by running container ${running.id.slice(0, 12)}`, true);
  if (what.references && core.references(id).length > 0) return new DeleteConflict(id, false, 'image is referenced in multiple repositories');
  const stopped = containers.find((c) => c.image === id && !c.running);
  if (what.stopped && stopped) return new DeleteConflict(id, false, `image is being used by stopped container ${stopped.id.slice(0, 12)}`, true);
  return null;
}

/** True when every reference is in one repository and at most one is a tag. */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: Reference | undefined;
  const canonical = new Set<string>();
  for (const r of refs) {
    if (r.digest !== undefined) canonical.add(refName(r));
    else if (single === undefined) single = r;
    else return false;
  }
  single ??= refs[0]!;
  return canonical.size === 1 && canonical.has(refName(single));
}

/** Whether the user named the image by (a prefix of) its ID. */
function isImageIdPrefix(id: string, s: string): boolean {
  return id.startsWith(s) || hexOf(id).startsWith(s);
}

/** Stores with a prune in progress (dockerd refuses a second one). */
const pruning = new WeakSet<ImageCore>();

/** ImagesPrune: every unused image the options select; space counted from removed layers. Takes the lock itself. */
export async function pruneImages(core: ImageCore, opts: PruneOptions): Promise<PruneReport> {
  if (pruning.has(core)) throw new ConflictError('a prune operation is already running');
  pruning.add(core);
  try {
    return await core.exclusive(() => prune(core, opts));
  } finally {
    pruning.delete(core);
  }
}

async function prune(core: ImageCore, opts: PruneOptions): Promise<PruneReport> {
  const candidates = [...core.images.values()]
    .filter((img) => !opts.danglingOnly || core.children(img.id).length === 0)
    .filter((img) => !(core.references(img.id).length === 0 && core.children(img.id).length > 0))
    .filter((img) => {
      if (opts.until === undefined) return true;
      const created = rfc3339ToNs(img.config.created);
      return created !== undefined && created <= opts.until;
    })
    .filter((img) => !img.config.config || !opts.labels || opts.labels(img.config.config.Labels ?? {}))
    .sort((a, b) => Number((rfc3339ToNs(b.config.created) ?? 0n) - (rfc3339ToNs(a.config.created) ?? 0n)));
  const layerSizes = new Map(core.layers.all().map((l) => [l.chainId, l.size]));
  const deleted: DeleteRecord[] = [];
  for (const img of candidates) {
    if (!core.images.has(img.id)) continue; // went with an earlier image's parent chain
    const refs = core.references(img.id);
    const targets = refs.length === 0
      ? [hexOf(img.id)]
      : !opts.danglingOnly || !refs.some((r) => r.digest === undefined) ? refs.map(refString) : [];
    for (const target of targets) {
      try {
        deleted.push(...(await removeImage(core, target, false, true)));
      } catch (err) {
        if (errorKind(err) !== 'conflict') core.opts.log.warn('failed to prune image', { image: target, error: err });
      }
    }
  }
  let reclaimed = 0;
  for (const d of deleted) if ('Deleted' in d) reclaimed += layerSizes.get(d.Deleted) ?? 0;
  core.opts.events.emit('docker.event', dockerEvent('image', 'prune', '', { reclaimed: String(reclaimed) }));
  return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
}
