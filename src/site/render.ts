import { describeNamespaces, type IndexInput } from '../store/index-pages.js';
import { SEARCH_JS, SITE_CSS, SITE_JS } from './assets.js';
import { parseChangelog, renderChangesPage, renderFeed } from './changes.js';
import { renderNamespacePages, renderRepositoryPages, renderStartPage, START_PAGE } from './pages.js';
import { repositoryPage } from './paths.js';
import { renderSearchShards } from './search-index.js';

/**
 * The whole catalog: path inside the site → content. Pure: the same metadata and changelog give the same
 * bytes (no clock, no randomness, sorted everywhere), so a commit changes exactly the files whose content did.
 * The namespace and repository pages are rendered when they are read, one at a time, and not kept: a
 * 50 000-tag namespace's catalog is tens of MB.
 */
export function renderSite(inputs: readonly IndexInput[], changelog: string | undefined): ReadonlyMap<string, string> {
  const namespaces = describeNamespaces(inputs);
  const shards = renderSearchShards(namespaces);
  const rendered = (text: string) => () => text;
  const files = new Map<string, () => string>([
    ['assets/site.css', rendered(SITE_CSS)],
    ['assets/site.js', rendered(SITE_JS)],
    ['assets/search.js', rendered(SEARCH_JS)],
    [START_PAGE, rendered(renderStartPage(namespaces, [...shards.keys()]))],
  ]);
  const pages = new Map<string, string>();
  for (const namespace of namespaces) {
    for (const [path, render] of renderNamespacePages(namespace)) files.set(path, render);
    for (const repository of namespace.repositories) {
      // the first namespace that mirrors a source repository owns its link on the change page
      if (!pages.has(repository.source)) pages.set(repository.source, repositoryPage(namespace.file, repository.key));
      for (const [path, render] of renderRepositoryPages(namespace, repository)) files.set(path, render);
    }
  }
  for (const [path, text] of shards) files.set(path, rendered(text));
  const sections = parseChangelog(changelog ?? '');
  const link = (source: string) => pages.get(source);
  files.set('changes.html', rendered(renderChangesPage(sections, link)));
  files.set('feed.atom', rendered(renderFeed(sections, link)));
  return new RenderedOnRead(new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** A map of pages that renders a page each time it is read. */
class RenderedOnRead implements ReadonlyMap<string, string> {
  constructor(private readonly pages: ReadonlyMap<string, () => string>) {}

  get size(): number {
    return this.pages.size;
  }

  get(path: string): string | undefined {
    return this.pages.get(path)?.();
  }

  has(path: string): boolean {
    return this.pages.has(path);
  }

  keys(): MapIterator<string> {
    return this.pages.keys();
  }

  *values(): MapIterator<string> {
    for (const render of this.pages.values()) yield render();
  }

  *entries(): MapIterator<[string, string]> {
    for (const [path, render] of this.pages) yield [path, render()];
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (text: string, path: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [path, text] of this.entries()) callback.call(thisArg, text, path, this);
  }
}
