/**
 * Tags that belong to another image rather than being images of their own: cosign's `sha256-<hex>.sig`, `.att` and
 * `.sbom` (and any other `sha256-<hex>.<suffix>`, regsync's digestTags), and OCI 1.1's referrers fallback tag
 * `sha256-<hex>`, an index of the manifests whose `subject` is that digest.
 */
const DIGEST_TAG = /^(sha256|sha384|sha512)-([0-9a-f]{64,128})(?:\.([A-Za-z0-9_.-]+))?$/;

/** The digest a digest tag belongs to (`sha256-ab….sig` → `sha256:ab…`), or undefined for an ordinary tag. */
export function digestTagSubject(tag: string): string | undefined {
  const match = DIGEST_TAG.exec(tag);
  return match === null ? undefined : `${match[1]}:${match[2]}`;
}

/** `sha256:<hex>` → `sha256-<hex>`: the OCI 1.1 referrers fallback tag of a digest. */
export function referrersFallbackTag(digest: string): string {
  return digest.replace(':', '-');
}

/** A digest tag with a suffix (`.sig`, `.att`, `.sbom`, …): a signature, attestation or SBOM in cosign's layout. */
export function isSignatureTag(tag: string): boolean {
  return DIGEST_TAG.exec(tag)?.[3] !== undefined;
}
