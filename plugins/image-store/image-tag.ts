import { InvalidParameterError, NotFoundError } from '../../kernel/index.js';
import type { ImageCore } from './image-core.js';
import { localRfc3339Nano } from './go-format.js';
import { familiarName, familiarString, repoTagReference, type Reference } from './reference.js';

/**
 * TagImage: points `ref` at the image (moving it if it was elsewhere),
 * records the time as the image's LastTagTime and emits `tag` with the
 * familiar name. Caller holds the exclusive lock.
 */
export async function tagLocked(core: ImageCore, id: string, ref: Reference): Promise<void> {
  await core.refs.addTag(ref, id, true);
  await core.touch(id, localRfc3339Nano());
  core.emit('tag', id, familiarString(ref));
}

/** `POST /images/{name}/tag`: the new name is checked first (400), then the image looked up (always 404 when that fails, as dockerd). */
export async function tagImage(core: ImageCore, refOrId: string, repo: string, tag?: string): Promise<void> {
  const ref = repoTagReference(repo, tag);
  if (!ref) throw new InvalidParameterError('repository name must have at least one component');
  if (familiarName(ref) === 'sha256') throw new InvalidParameterError('refusing to create an ambiguous tag using digest algorithm as name');
  await core.exclusive(async () => {
    let id: string;
    try {
      id = core.resolve(refOrId).id;
    } catch (err) {
      throw new NotFoundError((err as Error).message);
    }
    await tagLocked(core, id, ref);
  });
}
