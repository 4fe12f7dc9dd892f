/**
 * The image and layer store on top of the active graph driver. This is the
 * part the kernel-level consumers (`/info`, `/system/df`) need; the image API
 * itself is served from the same plugin.
 */
export interface ImageStore {
  /** Number of images (`docker info` "Images"). */
  count(): Promise<number>;
  /** Total size of all layers, for `/system/df` LayersSize. */
  layersSize(): Promise<number>;
  dispose(): Promise<void>;
}
