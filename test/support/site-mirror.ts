import type { IndexInput } from '../../src/store/index-pages.js';
import { CHANGELOG_HEADER, renderChangelogSection } from '../../src/store/changelog.js';
import { metadataFilePath } from '../../src/store/layout.js';
import type { TagRecord } from '../../src/store/schema.js';

export interface MirrorShape {
  namespaces: number;
  repositoriesPerNamespace: number;
  tagsPerRepository: number;
}

/** The mirror the site is measured with: 4 namespaces × 500 repositories × 25 tags = 50 000 tags. */
export const BIG_MIRROR: MirrorShape = { namespaces: 4, repositoriesPerNamespace: 500, tagsPerRepository: 25 };

/** The same 50 000 tags as 50 000 repositories of one tag in one namespace: the most pages and the biggest index. */
export const WIDE_MIRROR: MirrorShape = { namespaces: 1, repositoriesPerNamespace: 50_000, tagsPerRepository: 1 };

const NAMESPACES = ['gcr.io/google-containers', 'registry.k8s.io', 'quay.io/coreos', 'ghcr.io/fluxcd', 'docker.io/bitnami', 'gcr.io/distroless'];
const WORDS = ['kube', 'core', 'dns', 'etcd', 'proxy', 'node', 'metrics', 'server', 'pause', 'ingress', 'nginx', 'cert', 'manager', 'csi', 'driver', 'flux', 'helm', 'agent'];

/**
 * Metadata JSON for a generated mirror, no registry needed: the same shape always gives the same content
 * (names and digests come from counters, times from a fixed start), plus a CHANGELOG with one section per namespace.
 */
export function generateMirror(shape: MirrorShape): { inputs: IndexInput[]; changelog: string } {
  const inputs: IndexInput[] = [];
  const sections: string[] = [];
  for (let n = 0; n < shape.namespaces; n++) {
    const source = NAMESPACES[n % NAMESPACES.length]! + (n >= NAMESPACES.length ? `-${n}` : '');
    const slash = source.indexOf('/');
    const [registry, namespace] = slash < 0 ? [source, ''] : [source.slice(0, slash), source.slice(slash + 1)];
    const target = `mirror.example/${source.replaceAll('/', '-').replaceAll('.', '-')}`;
    const images: Record<string, Record<string, TagRecord>> = Object.create(null);
    const entries: Array<{ source: string; target: string; kind: 'new' }> = [];
    for (let r = 0; r < shape.repositoriesPerNamespace; r++) {
      const name = `${WORDS[r % WORDS.length]}-${WORDS[(r * 7 + n) % WORDS.length]}-${r}`;
      const tags: Record<string, TagRecord> = Object.create(null);
      for (let t = 0; t < shape.tagsPerRepository; t++) {
        const tag = t === 0 ? 'latest' : `v1.${Math.floor(t / 5)}.${t % 5}`;
        const reference = `${target}/${name}:${tag}`;
        const time = new Date(Date.UTC(2026, 10, 1 + n, 0, 0, 0) + (r * shape.tagsPerRepository + t) * 1000).toISOString();
        tags[tag] = { digest: digestOf(n, r, t), target: reference, syncedAt: time, platforms: ['linux/amd64', 'linux/arm64'] };
        entries.push({ source: `${source}/${name}:${tag}`, target: reference, kind: 'new' });
      }
      images[name] = tags;
    }
    inputs.push({ file: metadataFilePath(registry, namespace), metadata: { source, target, images } });
    sections.unshift(renderChangelogSection({ time: new Date(Date.UTC(2026, 10, 1 + n, 1, 0, 0)), title: `${source} → ${target}`, entries }));
  }
  return { inputs, changelog: `${CHANGELOG_HEADER}\n${sections.join('\n')}` };
}

function digestOf(n: number, r: number, t: number): string {
  const seed = `${n.toString(16)}${r.toString(16).padStart(4, '0')}${t.toString(16).padStart(2, '0')}`;
  return `sha256:${seed.padEnd(64, 'abcdef0123456789')}`;
}
