import type { Header } from 'tar-stream';

/**
 * A tar header as tar-stream reads and writes it. Every field but the name is
 * optional when packing; `pax` carries PAX records such as SCHILY.xattr.*.
 */
export interface TarHeader extends Partial<Omit<Header, 'pax' | 'type' | 'linkname'>> {
  name: string;
  type?: Header['type'] | 'pax-header' | 'pax-global-header' | 'gnu-long-path' | 'gnu-long-link-path' | null;
  linkname?: string | null;
  pax?: Record<string, string> | null;
}

/** The header type tar-stream's pack() accepts (our extra type names never reach it). */
export type PackHeader = Partial<Header> & Pick<Header, 'name'>;

/** PAX key prefix under which GNU tar, bsdtar and Go's archive/tar store xattrs. */
export const PAX_XATTR_PREFIX = 'SCHILY.xattr.';
