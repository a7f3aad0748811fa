import { METADATA_DIR } from '../store/layout.js';

/**
 * `metadata/gcr.io/google-containers.json` → `r/gcr.io/google-containers/-/`. Repository pages go below the
 * `-` directory: no repository or namespace component can be `-`, so a namespace's pages never collide with
 * those of a namespace nested in it (`google-containers/sub`).
 */
export function namespaceDir(file: string): string {
  return `r/${file.slice(`${METADATA_DIR}/`.length, -'.json'.length)}/-/`;
}

/** `_index`: a repository may be called `index`, but no repository name starts with `_`. */
export function namespacePage(file: string, page = 1): string {
  return `${namespaceDir(file)}_index${pageSuffix(page)}.html`;
}

/** Repository paths are lowercase letters, digits and separators (validated when the JSON is read): safe as file names. */
export function repositoryPage(file: string, key: string, page = 1): string {
  return `${namespaceDir(file)}${key}${pageSuffix(page)}.html`;
}

/** Page 2 on of a long list: `pause~2.html` (no name holds a `~`). */
function pageSuffix(page: number): string {
  return page === 1 ? '' : `~${page}`;
}
