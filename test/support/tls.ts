import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './temp.js';
import { toolPath } from './tools.js';

/** A throw-away certificate authority made with openssl, issuing server and client certificates for tests. */
export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate */
  caFile: string;
  /** a server certificate for these subject alternative names (`IP:127.0.0.1`, `DNS:localhost`) */
  server(name: string, altNames: string[]): Promise<CertPair>;
  /** a client certificate (extendedKeyUsage clientAuth) */
  client(name: string): Promise<CertPair>;
}

export interface CertPair {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(toolPath('openssl'), args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createTestCa(name = 'gcrsync test CA'): Promise<TestCa> {
  const dir = await tempDir('ca');
  openssl(['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const issue = async (leaf: string, extensions: string): Promise<CertPair> => {
    await writeFile(join(dir, `${leaf}.ext`), extensions);
    openssl(['req', ...EC_KEY, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', `/CN=${leaf}`], dir);
    openssl(['x509', '-req', '-in', `${leaf}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${leaf}.crt`, '-days', '2', '-extfile', `${leaf}.ext`], dir);
    return { cert: join(dir, `${leaf}.crt`), key: join(dir, `${leaf}.key`) };
  };
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    server: (leaf, altNames) => issue(leaf, `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`),
    client: (leaf) => issue(leaf, `extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n`),
  };
}
