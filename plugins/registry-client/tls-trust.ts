import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

/**
 * TLS trust for registry connections, as dockerd's registry.newTLSConfig:
 * the system roots plus, per registry `host[:port]`, every `*.crt` in
 * `<certs dir>/<host[:port]>/` as an extra CA and a `*.cert`/`*.key` pair as
 * the client certificate. Berth looks in its own directory first
 * (`/etc/berth/certs.d`), then dockerd's (`/etc/docker/certs.d`), so
 * certificates installed for dockerd work unchanged.
 *
 * `BERTH_EXTRA_CA_CERTS` (bin/berthd moves `NODE_EXTRA_CA_CERTS` there so
 * Node does not parse the bundle at every start) is read here, once, the
 * first time a registry is contacted over TLS.
 */
export interface HostTls {
  /** Extra CAs on top of Node's built-in roots; undefined when there are none (the built-in store is then used as is, which is much cheaper than a context built from every root PEM). */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
  /** insecure-registries: certificate errors are ignored (dockerd's InsecureSkipVerify). */
  insecure: boolean;
}

let extraCas: Promise<string[]> | undefined;

function extraCaCerts(): Promise<string[]> {
  extraCas ??= (async () => {
    const file = process.env.BERTH_EXTRA_CA_CERTS;
    if (!file) return [];
    try {
      return splitPem(await readFile(file, 'utf8'));
    } catch {
      return []; // as Node: a missing extra bundle only warns
    }
  })();
  return extraCas;
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export async function hostTls(certsDirs: readonly string[], hostPort: string, insecure: boolean): Promise<HostTls> {
  const ca = [...(await extraCaCerts())];
  const out: HostTls = { insecure };
  for (const base of certsDirs) {
    const dir = join(base, hostPort);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.endsWith('.crt')) ca.push(...splitPem(await readFile(join(dir, name), 'utf8')));
      else if (name.endsWith('.cert') && !out.cert) {
        const keyName = name.slice(0, -'.cert'.length) + '.key';
        if (!names.includes(keyName)) throw new Error(`missing key ${keyName} for client certificate ${name}. CA certificates must use the extension .crt`);
        out.cert = await readFile(join(dir, name));
        out.key = await readFile(join(dir, keyName));
      } else if (name.endsWith('.key') && !names.includes(name.slice(0, -'.key'.length) + '.cert')) {
        throw new Error(`missing client certificate ${name.slice(0, -'.key'.length)}.cert for key ${name}`);
      }
    }
  }
  if (ca.length > 0) out.ca = [...rootCertificates, ...ca];
  return out;
}
