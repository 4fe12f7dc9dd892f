/** Manifest and layer media types (docker/distribution schema2/manifestlist, OCI image-spec). */
export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** What dockerd's manifest service asks for (schema1 last, so we can name it in the error). */
export const MANIFEST_ACCEPT = [MT.dockerManifest, MT.dockerList, MT.ociManifest, MT.ociIndex, MT.dockerSchema1Signed, MT.dockerSchema1];

/** checkSupportedMediaType's prefixes. */
const SUPPORTED_PREFIXES = ['application/vnd.oci.image', 'application/vnd.docker', 'application/octet-stream', 'application/json', 'text/html', ''];

export function isSupportedMediaType(mt: string | undefined): boolean {
  const l = (mt ?? '').toLowerCase();
  return SUPPORTED_PREFIXES.some((p) => l === p || l.startsWith(p + '.'));
}

/** defaultImageTypes: config media types an image may have. */
export const IMAGE_CONFIG_TYPES = [MT.dockerConfig, MT.ociConfig, 'application/octet-stream', 'application/json', 'text/html', ''];
