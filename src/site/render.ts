import { describeNamespaces, type IndexInput } from '../store/index-pages.js';
import { SEARCH_JS, SITE_CSS, SITE_JS } from './assets.js';
import { parseChangelog, renderChangesPage, renderFeed } from './changes.js';
import { renderNamespacePages, renderRepositoryPages, renderStartPage, START_PAGE } from './pages.js';
import { repositoryPage } from './paths.js';
import { renderSearchShards } from './search-index.js';

/**
 * The whole catalog: path inside the site → content. Pure: the same metadata and changelog give the same
 * bytes (no clock, no randomness, sorted everywhere), so a commit changes exactly the files whose content did.
 */
export function renderSite(inputs: readonly IndexInput[], changelog: string | undefined): Map<string, string> {
  const namespaces = describeNamespaces(inputs);
  const shards = renderSearchShards(namespaces);
  const files = new Map<string, string>([
    ['assets/site.css', SITE_CSS],
    ['assets/site.js', SITE_JS],
    ['assets/search.js', SEARCH_JS],
    [START_PAGE, renderStartPage(namespaces, [...shards.keys()])],
  ]);
  const pages = new Map<string, string>();
  for (const namespace of namespaces) {
    for (const [path, text] of renderNamespacePages(namespace)) files.set(path, text);
    for (const repository of namespace.repositories) {
      // the first namespace that mirrors a source repository owns its link on the change page
      if (!pages.has(repository.source)) pages.set(repository.source, repositoryPage(namespace.file, repository.key));
      for (const [path, text] of renderRepositoryPages(namespace, repository)) files.set(path, text);
    }
  }
  for (const [path, text] of shards) files.set(path, text);
  const sections = parseChangelog(changelog ?? '');
  const link = (source: string) => pages.get(source);
  files.set('changes.html', renderChangesPage(sections, link));
  files.set('feed.atom', renderFeed(sections, link));
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
