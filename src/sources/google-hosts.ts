/** Hosts that serve Google's listing extension: gcr.io (and regional/k8s mirrors), registry.k8s.io, Artifact Registry. */
export function isGoogleHost(registry: string): boolean {
  const host = registry.toLowerCase().replace(/:\d+$/, '');
  return host === 'gcr.io' || host.endsWith('.gcr.io') || host === 'registry.k8s.io' || host.endsWith('.pkg.dev');
}
