import { call, eachLimit, MANIFEST_ACCEPT, mountBlob, putManifest, uploadBlob } from './registry-api.js';

interface Descriptor {
  digest: string;
}

/**
 * A reference, not a contender: about the least work any copier can do for the namespace. No existence checks, no
 * verification, no metadata; each blob fetched once, uploaded once, mounted everywhere else; `parallel` images at
 * a time. Its time is the floor these registries on this machine allow, next to the byte floor the issue defines
 * (which counts no per-request cost at all).
 */
export async function minimalCopy(
  frontUrl: string,
  targetUrl: string,
  images: ReadonlyArray<{ source: string; target: string; tag: string }>,
  parallel: number,
): Promise<{ requests: number }> {
  let requests = 0;
  // digest → the target repository that received it (once its upload finished)
  const uploaded = new Map<string, Promise<string>>();
  // one mount per repository and digest: concurrent writes of the same link file race in the registry's filesystem driver
  const mounted = new Map<string, Promise<void>>();

  const get = async (path: string, accept?: string) => {
    requests++;
    const answer = await call('GET', `${frontUrl}${path}`, accept ? { accept } : {});
    if (answer.status !== 200) throw new Error(`GET ${path}: HTTP ${answer.status}`);
    return answer;
  };

  const copyBlob = async (source: string, target: string, digest: string): Promise<void> => {
    const holder = uploaded.get(digest);
    if (holder === undefined) {
      const upload = (async () => {
        const blob = await get(`/v2/${source}/blobs/${digest}`);
        requests += 2;
        await uploadBlob(targetUrl, target, blob.body, digest);
        return target;
      })();
      uploaded.set(digest, upload);
      await upload;
      return;
    }
    const from = await holder;
    if (from === target) return;
    const key = `${target} ${digest}`;
    if (!mounted.has(key)) {
      requests++;
      mounted.set(key, mountBlob(targetUrl, target, digest, from));
    }
    await mounted.get(key);
  };

  const copyManifest = async (source: string, target: string, reference: string): Promise<void> => {
    const answer = await get(`/v2/${source}/manifests/${reference}`, MANIFEST_ACCEPT);
    const manifest = JSON.parse(answer.body.toString('utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    if (manifest.manifests) await Promise.all(manifest.manifests.map((child) => copyManifest(source, target, child.digest)));
    else await Promise.all([manifest.config!, ...(manifest.layers ?? [])].map((blob) => copyBlob(source, target, blob.digest)));
    requests++;
    await putManifest(targetUrl, target, reference, answer.body, String(answer.headers['content-type']));
  };

  await eachLimit(images, parallel, ({ source, target, tag }) => copyManifest(source, target, tag));
  return { requests };
}
