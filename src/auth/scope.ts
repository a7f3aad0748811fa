/**
 * Token scopes (distribution auth/scope.md): `type:name:action[,action]`, e.g. `repository:a/b:pull,push` or
 * `registry:catalog:*`. The name may contain `host:port`, so a scope splits at its first and last colon.
 */
interface ParsedScope {
  resource: string; // type:name
  actions: string[];
}

export const CATALOG_SCOPE = 'registry:catalog:*';

export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

function parseScope(scope: string): ParsedScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { resource: scope.slice(0, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

function toMap(scopes: readonly string[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const parsed = parseScope(scope);
    if (!parsed) continue;
    const actions = map.get(parsed.resource) ?? new Set<string>();
    for (const action of parsed.actions) actions.add(action);
    map.set(parsed.resource, actions);
  }
  return map;
}

/** Merges scope lists, one entry per resource with the union of its actions; sorted, so equal sets compare equal. */
export function unionScopes(...lists: ReadonlyArray<readonly string[]>): string[] {
  const map = toMap(lists.flat());
  return [...map.entries()]
    .map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`)
    .sort();
}

/** True when `granted` names every resource and action of `wanted`. */
export function coversScopes(granted: readonly string[], wanted: readonly string[]): boolean {
  const have = toMap(granted);
  for (const [resource, actions] of toMap(wanted)) {
    const got = have.get(resource);
    if (!got) return false;
    for (const action of actions) if (!got.has(action) && !got.has('*')) return false;
  }
  return true;
}

/** The scopes a challenge names (`scope="a b"`: space separated). */
export function challengeScopes(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter(Boolean);
}
