import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';

/**
 * Just enough of the registry API (no auth: the bench's registries are open on 127.0.0.1) to build big
 * namespaces fast: keep-alive connections, blob upload in one PUT, cross-repository mounts, manifest PUTs.
 * Independent of gcrsync's own registry client, so the fixture cannot flatter what is measured.
 */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function call(method: string, url: string | URL, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method,
        path: target.pathname + target.search,
        headers: { ...headers, ...(body !== undefined && { 'content-length': String(body.length) }) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function expect(answer: Promise<Answer>, statuses: number[], what: string): Promise<Answer> {
  const got = await answer;
  if (!statuses.includes(got.status)) throw new Error(`${what}: HTTP ${got.status} ${got.body.toString('utf8').slice(0, 300)}`);
  return got;
}

/** POST an upload session and PUT the whole blob into it (one stream, like `docker push` of a small layer). */
export async function uploadBlob(registryUrl: string, repository: string, bytes: Buffer, digest = sha256(bytes)): Promise<string> {
  const start = await expect(call('POST', `${registryUrl}/v2/${repository}/blobs/uploads/`, {}, Buffer.alloc(0)), [202], `start upload to ${repository}`);
  const location = new URL(String(start.headers.location), registryUrl);
  location.searchParams.set('digest', digest);
  await expect(call('PUT', location, { 'content-type': 'application/octet-stream' }, bytes), [201], `upload ${digest} to ${repository}`);
  return digest;
}

/** Makes `digest` (already in `from`) appear in `repository` without sending it again. */
export async function mountBlob(registryUrl: string, repository: string, digest: string, from: string): Promise<void> {
  const url = `${registryUrl}/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  await expect(call('POST', url, {}, Buffer.alloc(0)), [201], `mount ${digest} into ${repository}`);
}

export async function putManifest(registryUrl: string, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
  await expect(call('PUT', `${registryUrl}/v2/${repository}/manifests/${reference}`, { 'content-type': mediaType }, bytes), [201], `put manifest ${repository}:${reference}`);
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** `Docker-Content-Digest` of `repository:reference`, undefined when absent. */
export async function manifestDigest(registryUrl: string, repository: string, reference: string): Promise<string | undefined> {
  const answer = await call('HEAD', `${registryUrl}/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`HEAD ${repository}:${reference}: HTTP ${answer.status}`);
  return String(answer.headers['docker-content-digest']);
}

/** Runs `work` over `items`, `limit` at a time, and fails with the first error. */
export async function eachLimit<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function closeConnections(): void {
  agent.destroy();
}
