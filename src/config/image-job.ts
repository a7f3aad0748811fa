import type { ConfigFile } from './file.js';
import { parseLocation, parseReference, type Reference } from '../ref/reference.js';
import { namespaceOf } from '../sources/image-list.js';

/**
 * The job of the file whose sources hold `image`, and the namespace it holds it in (the longest match wins,
 * then the first job): so `copy` names and records an image the way that job's sync would. Image list files
 * are not read here; an image only they name falls back to the defaults.
 */
export function jobForImage(file: ConfigFile, image: Reference, onlyJob?: string): { job: string; namespace: string } | undefined {
  let best: { job: string; namespace: string } | undefined;
  const consider = (job: string, namespace: string) => {
    if (best === undefined || namespace.length > best.namespace.length) best = { job, namespace };
  };
  for (const job of file.jobs) {
    if (onlyJob !== undefined && job.name !== onlyJob) continue;
    for (const entry of job.sources) {
      if (entry.kind === 'namespace' || entry.kind === 'repositories') {
        let location: { registry: string; path: string };
        try {
          location = parseLocation(entry.location);
        } catch {
          continue;
        }
        if (location.registry !== image.registry) continue;
        const inside = location.path === '' || image.repository.startsWith(`${location.path}/`);
        if (!inside) continue;
        const relative = location.path === '' ? image.repository : image.repository.slice(location.path.length + 1);
        if (entry.kind === 'repositories' && !entry.repositories.includes(relative)) continue;
        consider(job.name, location.path);
      } else if (entry.kind === 'images') {
        for (const text of entry.images) {
          try {
            const listed = parseReference(text);
            if (listed.registry === image.registry && listed.repository === image.repository) consider(job.name, namespaceOf(listed));
          } catch {
            continue;
          }
        }
      }
    }
  }
  return best;
}
