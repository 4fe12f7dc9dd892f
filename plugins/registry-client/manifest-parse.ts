import { InvalidParameterError } from '../../kernel/index.js';
import { MT } from './media-types.js';

/**
 * Parsing of fetched manifests into one of: an image manifest (schema2 or
 * OCI) or an index (manifest list or OCI index), with dockerd's checks
 * (media type detection, no mixed fields) and errors.
 */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: { architecture: string; os: string; 'os.version'?: string; 'os.features'?: string[]; variant?: string };
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] };

export class SchemaOneError extends InvalidParameterError {}

export function parseManifest(body: Buffer, contentType: string | undefined, familiar: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidParameterError('unsupported manifest format');
  }
  if (!doc || typeof doc !== 'object') throw new InvalidParameterError('unsupported manifest format');
  let mt = typeof doc.mediaType === 'string' ? doc.mediaType : '';
  const ct = (contentType ?? '').split(';')[0]!.trim();
  if (!mt) {
    // OCI manifests may omit mediaType: detect it from the fields (containerd's detectManifestMediaType).
    if (Array.isArray(doc.manifests)) mt = MT.ociIndex;
    else if (doc.config !== undefined) mt = ct === MT.dockerManifest ? MT.dockerManifest : MT.ociManifest;
    else if (doc.fsLayers !== undefined || doc.schemaVersion === 1) mt = MT.dockerSchema1Signed;
    else mt = ct;
  }
  if (mt === MT.dockerSchema1 || mt === MT.dockerSchema1Signed) {
    throw new SchemaOneError(`[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${familiar} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/`);
  }
  if (mt === MT.dockerList || mt === MT.ociIndex) {
    if (doc.config !== undefined || doc.layers !== undefined) throw new InvalidParameterError(`media-type: "${mt}" should not have "config", "layers", or "fsLayers"`);
    return { kind: 'index', mediaType: mt, manifests: descriptors(doc.manifests) };
  }
  if (mt === MT.dockerManifest || mt === MT.ociManifest) {
    if (doc.manifests !== undefined) throw new InvalidParameterError(`media-type: "${mt}" should not have "manifests" or "fsLayers"`);
    const [config] = descriptors([doc.config]);
    return { kind: 'image', mediaType: mt, config: config!, layers: descriptors(doc.layers ?? []) };
  }
  throw new InvalidParameterError('unsupported manifest format');
}

function descriptors(v: unknown): Descriptor[] {
  if (!Array.isArray(v)) throw new InvalidParameterError('unsupported manifest format');
  return v.map((d) => {
    const o = d as Descriptor;
    if (!o || typeof o !== 'object' || typeof o.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(o.digest)) {
      throw new InvalidParameterError(`could not validate layer digest ${JSON.stringify((o as Descriptor | undefined)?.digest ?? '')}: invalid checksum digest format`);
    }
    return { ...o, mediaType: typeof o.mediaType === 'string' ? o.mediaType : '', size: Number(o.size) || 0 };
  });
}
