import type Docker from 'dockerode';
import type { Keychain } from '../auth/keychain.js';
import { GcrsyncError } from '../errors.js';
import { type Logger, redactAll, silentLogger } from '../log.js';
import { formatReference, formatRepository, parseReference, type Reference } from '../ref/reference.js';
import { progressFailure, toAuthConfig } from '../transports/docker.js';

/**
 * `gcrsync pull`: fetch the mirror of an image and give it the original name, so manifests that say
 * `registry.k8s.io/pause:3.9` run without reaching registry.k8s.io. Through the Docker daemon, or printed as
 * commands for docker, ctr (containerd) or crictl.
 */
export type Runtime = 'docker' | 'ctr' | 'crictl';

export interface PullPlan {
  /** what the mirror is pulled as: `repo:tag`, or `repo@digest` when the image was pinned */
  mirror: Reference;
  /** the original name to tag it with (always has a tag) */
  original: Reference;
}

/**
 * Plans the pull of `image` (as the user wrote it) from `mirror` (the lookup's answer). The original name
 * needs a tag: a digest alone cannot name a local image.
 */
export function planPull(image: string, mirror: string): PullPlan {
  const requested = parseReference(image);
  if (requested.tag === undefined && requested.digest !== undefined) {
    throw new GcrsyncError('USAGE', `${image}: name a tag too (IMAGE:TAG@DIGEST); a digest alone cannot be the local name`, { ref: image });
  }
  const original: Reference = { registry: requested.registry, repository: requested.repository, tag: requested.tag ?? 'latest' };
  const target = parseReference(mirror);
  // a reference with both a tag and a digest is pulled by digest; `docker tag` refuses the combined form
  const pulled: Reference =
    target.digest !== undefined
      ? { registry: target.registry, repository: target.repository, digest: target.digest }
      : { registry: target.registry, repository: target.repository, tag: target.tag ?? 'latest' };
  return { mirror: pulled, original };
}

export interface PullCommandOptions {
  /** the mirror speaks plain HTTP (loopback, or named by --insecure-registry): ctr must be told so */
  plainHttp?: boolean;
  /** `os/arch[/variant]` to pull instead of the machine's own */
  platform?: string;
}

/**
 * The shell commands that do the same by hand (Kubernetes nodes: containerd's `k8s.io` namespace). crictl has no
 * platform or plain-HTTP switch: those come from containerd's own configuration.
 */
export function pullCommands(plan: PullPlan, runtime: Runtime, options: PullCommandOptions = {}): string[] {
  const mirror = formatReference(plan.mirror);
  const original = formatReference(plan.original);
  const platform = options.platform === undefined ? '' : `--platform ${options.platform} `;
  switch (runtime) {
    case 'docker':
      return [`docker pull ${platform}${mirror}`, `docker tag ${mirror} ${original}`, `docker rmi ${mirror}`];
    case 'ctr': {
      const plain = options.plainHttp ? '--plain-http ' : '';
      return [`ctr -n k8s.io images pull ${plain}${platform}${mirror}`, `ctr -n k8s.io images tag --force ${mirror} ${original}`, `ctr -n k8s.io images rm ${mirror}`];
    }
    case 'crictl':
      // crictl cannot tag; the kubelet's images live in containerd's k8s.io namespace, where ctr can
      return [`crictl pull ${mirror}`, `ctr -n k8s.io images tag --force ${mirror} ${original}`, `ctr -n k8s.io images rm ${mirror}`];
  }
}

export interface DaemonPullOptions {
  docker: Docker;
  keychain: Keychain;
  /** `os/arch[/variant]` to pull instead of the daemon's own */
  platform?: string;
  logger?: Logger;
  signal: AbortSignal;
}

/**
 * Pulls the mirror through the daemon, tags it with the original name and drops the mirror name again (the
 * image stays, under its original name). Returns the local image id.
 */
export async function pullThroughDaemon(plan: PullPlan, options: DaemonPullOptions): Promise<string> {
  const { docker, signal } = options;
  const logger = options.logger ?? silentLogger;
  const mirror = formatReference(plan.mirror);
  const original = formatReference(plan.original);
  const auth = toAuthConfig(plan.mirror.registry, await options.keychain.resolve(plan.mirror.registry, signal));
  logger.debug('docker pull', { image: mirror });
  let events: Array<Record<string, unknown>>;
  try {
    const stream = await docker.createImage({
      fromImage: formatRepository(plan.mirror),
      tag: plan.mirror.digest ?? plan.mirror.tag,
      ...(options.platform !== undefined && { platform: options.platform }),
      ...(auth !== undefined && { authconfig: auth }),
      abortSignal: signal,
    });
    events = await new Promise((resolve, reject) => docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output))));
  } catch (error) {
    if (signal.aborted) throw new GcrsyncError('ABORTED', `pulling ${mirror} was cancelled`, { ref: mirror });
    throw daemonError('pull', mirror, error);
  }
  const failure = progressFailure(events);
  if (failure !== undefined) throw daemonError('pull', mirror, failure);
  try {
    await docker.getImage(mirror).tag({ repo: formatRepository(plan.original), tag: plan.original.tag });
  } catch (error) {
    throw daemonError('tag', `${mirror} as ${original}`, error);
  }
  try {
    await docker.getImage(mirror).remove({ noprune: true });
  } catch (error) {
    // the pull worked; a leftover second name is cosmetic
    logger.warn('could not remove the mirror name after tagging', { image: mirror, error: message(error) });
  }
  try {
    return (await docker.getImage(original).inspect()).Id;
  } catch (error) {
    throw daemonError('inspect', original, error);
  }
}

function daemonError(action: string, image: string, error: unknown): GcrsyncError {
  return new GcrsyncError('DOCKER', redactAll(`docker ${action} ${image} failed: ${message(error)}`), {
    ref: image,
    ...(typeof error !== 'string' && { cause: error }),
  });
}

/** The daemon's own words: dockerode puts the body's `message` on `json` and prefixes "(HTTP code N) …" to the text. */
function message(error: unknown): string {
  if (typeof error === 'string') return error;
  const json = (error as { json?: { message?: unknown } } | undefined)?.json;
  if (json !== undefined && json !== null && typeof json.message === 'string') return json.message.trim();
  return error instanceof Error ? error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim() : String(error);
}
