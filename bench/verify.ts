import { eachLimit, manifestDigest } from './registry-api.js';

/** A mirror name at the target and, for digest-preserving contenders, the digest it must carry. */
export interface ExpectedImage {
  repository: string;
  tag: string;
  digest?: string;
}

/**
 * Checks (outside the timed run) that a contender really did the work: every expected tag answers a manifest
 * HEAD at the target, with the source digest where the contender promises to preserve it.
 */
export async function verifyMirror(registryUrl: string, expected: readonly ExpectedImage[], who: string): Promise<void> {
  const problems: string[] = [];
  await eachLimit(expected, 16, async ({ repository, tag, digest }) => {
    const found = await manifestDigest(registryUrl, repository, tag);
    if (found === undefined) problems.push(`${repository}:${tag} is missing`);
    else if (digest !== undefined && found !== digest) problems.push(`${repository}:${tag} is ${found}, the source is ${digest}`);
  });
  if (problems.length > 0) {
    throw new Error(`${who} left the target incomplete (${problems.length} of ${expected.length}): ${problems.slice(0, 5).join('; ')}`);
  }
}
