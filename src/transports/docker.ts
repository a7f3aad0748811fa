import type Docker from 'dockerode';
import type { Credentials } from '../auth/credentials.js';
import type { Keychain } from '../auth/keychain.js';
import { GcrsyncError } from '../errors.js';
import { type Logger, redactAll, silentLogger } from '../log.js';
import { DOCKER_HUB, formatReference, formatRepository, type Reference } from '../ref/reference.js';
import type { CopyRequest, CopyResult, Transport } from './transport.js';

/**
 * The Docker-daemon transport: pull, tag, push through a Docker Engine (dockerode). It works wherever a daemon
 * can reach both registries, but it is NOT digest-preserving: the daemon keeps one platform of an index and may
 * rebuild the manifest, so the result says what actually landed at the target.
 */
export interface DockerTransportOptions {
  docker: Docker;
  keychain: Keychain;
  logger?: Logger;
}

/** One line of the daemon's NDJSON progress stream (moby pkg/jsonmessage). */
interface ProgressEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string; Size?: number };
}

type AuthConfig = Docker.AuthConfigObject;

// The index types a daemon flattens to one platform on pull.
const INDEX_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

// Docker Hub credentials are keyed by the legacy index URL, in the daemon as in ~/.docker/config.json.
const HUB_SERVER_ADDRESS = 'https://index.docker.io/v1/';

/**
 * A client of the Docker daemon (DOCKER_HOST is honoured). dockerode is an optional dependency, loaded only here:
 * an install made with `--omit=optional` (the container image) has the registry transport only, and says so.
 */
export async function connectDocker(): Promise<Docker> {
  let Dockerode: typeof Docker;
  try {
    Dockerode = (await import('dockerode')).default;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new GcrsyncError(
      'DOCKER',
      'the Docker daemon needs the optional package dockerode, which this installation left out (--omit=optional): use --transport registry, or install gcrsync with its optional dependencies',
    );
  }
  return new Dockerode();
}

export function createDockerTransport(options: DockerTransportOptions): Transport {
  const logger = options.logger ?? silentLogger;
  return {
    name: 'docker',
    copy: (request, signal) => copyThroughDaemon(options.docker, options.keychain, logger, request, signal),
    // the daemon connection is per request (HTTP over the socket); nothing to release
    close: async () => undefined,
  };
}

/** The name the daemon stores an image under; Hub images keep the explicit `docker.io/` so nothing is guessed. */
function daemonRepository(ref: Reference): string {
  return formatRepository(ref);
}

function serverAddress(registry: string): string {
  return registry === DOCKER_HUB ? HUB_SERVER_ADDRESS : registry;
}

/** X-Registry-Auth content for the Engine API (moby api/docs §Authentication); undefined = anonymous. */
export function toAuthConfig(registry: string, credentials: Credentials | undefined): AuthConfig | undefined {
  if (!credentials) return undefined;
  const serveraddress = serverAddress(registry);
  if ('password' in credentials) return { username: credentials.username, password: credentials.password, serveraddress };
  if ('identityToken' in credentials) return { identitytoken: credentials.identityToken, serveraddress };
  return { registrytoken: credentials.registryToken, serveraddress };
}

/** The message of the first failure line, if any; `followProgress` would report success for these streams. */
export function progressFailure(events: readonly ProgressEvent[]): string | undefined {
  const bad = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
  return bad ? (bad.errorDetail?.message ?? bad.error ?? 'unknown daemon error') : undefined;
}

/** The message the daemon gave for a failed API call (dockerode puts the body's `message` on `json`). */
function daemonMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const json = (error as { json?: unknown }).json;
    if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') {
      return (json as { message: string }).message;
    }
    // dockerode prefixes its own "(HTTP code 404) unexpected - " to the daemon's words
    if (error instanceof Error) return error.message.replace(/^\(HTTP code \d+\) [^-]*- /, '');
  }
  return String(error);
}

function dockerError(action: string, image: string, message: string, cause?: unknown): GcrsyncError {
  // the daemon's words for a --platform the image does not have
  const code = /no matching manifest for/i.test(message) ? 'NO_MATCHING_PLATFORM' : 'DOCKER';
  return new GcrsyncError(code, redactAll(`docker ${action} ${image} failed: ${message.trim()}`), {
    ref: image,
    ...(cause !== undefined && { cause }),
  });
}

function throwIfAborted(signal: AbortSignal, image: string): void {
  if (signal.aborted) throw new GcrsyncError('ABORTED', `copy of ${image} through the docker daemon was cancelled`, { ref: image });
}

/** Reads the whole NDJSON progress stream; rejects when the stream breaks or a line is not JSON. */
function readProgress(stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ProgressEvent[] = [];
    let pending = '';
    let failed = false;
    const takeLines = (final: boolean) => {
      const lines = pending.split('\n');
      pending = final ? '' : lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw new Error(`unreadable progress line ${JSON.stringify(line.slice(0, 200))}`);
        }
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) events.push(parsed as ProgressEvent);
      }
    };
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    stream.on('data', (chunk: Buffer | string) => {
      pending += chunk.toString();
      try {
        takeLines(false);
      } catch (error) {
        fail(error);
      }
    });
    stream.on('error', fail);
    stream.on('end', () => {
      try {
        takeLines(true);
        if (!failed) resolve(events);
      } catch (error) {
        fail(error);
      }
    });
  });
}

/** Runs one streaming daemon call and returns its events, turning any failure into DOCKER (or ABORTED). */
async function streamed(
  action: string,
  image: string,
  start: () => Promise<NodeJS.ReadableStream>,
  signal: AbortSignal,
): Promise<ProgressEvent[]> {
  let events: ProgressEvent[];
  try {
    events = await readProgress(await start());
  } catch (error) {
    throwIfAborted(signal, image);
    throw dockerError(action, image, daemonMessage(error), error);
  }
  const failure = progressFailure(events);
  if (failure !== undefined) throw dockerError(action, image, failure);
  return events;
}

/** Bytes the daemon reports as sent for layers it actually pushed (not "Layer already exists"), plus the manifest. */
function pushedBytes(events: readonly ProgressEvent[]): number {
  const sent = new Map<string, number>();
  const pushed = new Set<string>();
  for (const e of events) {
    if (!e.id) continue;
    if (e.status === 'Pushing' && e.progressDetail?.current !== undefined) {
      sent.set(e.id, Math.max(sent.get(e.id) ?? 0, e.progressDetail.current));
    }
    if (e.status === 'Pushed') pushed.add(e.id);
  }
  const layers = [...pushed].reduce((sum, id) => sum + (sent.get(id) ?? 0), 0);
  const manifest = events.find((e) => e.aux?.Size !== undefined)?.aux?.Size ?? 0;
  return layers + manifest;
}

/** The digest the daemon resolved the pulled tag to ("Digest: sha256:…" status line). */
function pulledDigest(events: readonly ProgressEvent[]): string | undefined {
  for (const e of events) {
    const match = /^Digest: (\S+)$/.exec(e.status ?? '');
    if (match) return match[1];
  }
  return undefined;
}

async function copyThroughDaemon(
  docker: Docker,
  keychain: Keychain,
  logger: Logger,
  request: CopyRequest,
  signal: AbortSignal,
): Promise<CopyResult> {
  const { source, target } = request;
  if (source.tag === undefined || target.tag === undefined) {
    throw new GcrsyncError('USAGE', `the docker transport copies tags; got ${formatReference(source)} → ${formatReference(target)}`);
  }
  const sourceRepository = daemonRepository(source);
  const targetRepository = daemonRepository(target);
  const sourceImage = `${sourceRepository}:${source.tag}`;
  const targetImage = `${targetRepository}:${target.tag}`;
  const warnings: string[] = [];
  const requestedPlatforms = request.platforms ?? [];
  if (requestedPlatforms.length > 1) {
    warnings.push(`the docker daemon copies one platform; copied ${requestedPlatforms[0]} of ${requestedPlatforms.join(', ')}`);
  }

  throwIfAborted(signal, sourceImage);
  const sourceAuth = toAuthConfig(source.registry, await keychain.resolve(source.registry, signal));
  const targetAuth = toAuthConfig(target.registry, await keychain.resolve(target.registry, signal));

  // local names this copy created, removed again whatever happens
  const created: string[] = [];
  try {
    throwIfAborted(signal, sourceImage);
    logger.debug('docker pull', { image: sourceImage });
    const pullEvents = await streamed(
      'pull',
      sourceImage,
      () =>
        docker.createImage({
          fromImage: sourceRepository,
          tag: source.tag,
          ...(requestedPlatforms[0] !== undefined && { platform: requestedPlatforms[0] }),
          ...(sourceAuth && { authconfig: sourceAuth }),
          abortSignal: signal,
        }),
      signal,
    );
    created.push(sourceImage);
    const resolved = pulledDigest(pullEvents);
    if (resolved !== undefined && resolved !== request.sourceDigest) {
      warnings.push(`${sourceImage} resolved to ${resolved}, not ${request.sourceDigest} as listed; the tag moved`);
    }

    let platform: string;
    try {
      const inspect = await docker.getImage(sourceImage).inspect();
      platform = [inspect.Os, inspect.Architecture, inspect.Variant].filter(Boolean).join('/');
    } catch (error) {
      throw dockerError('inspect', sourceImage, daemonMessage(error), error);
    }
    if (request.sourceMediaType !== undefined && INDEX_MEDIA_TYPES.has(request.sourceMediaType)) {
      warnings.push(`source is a multi-platform index; the daemon copied only ${platform}`);
    }

    throwIfAborted(signal, sourceImage);
    try {
      await docker.getImage(sourceImage).tag({ repo: targetRepository, tag: target.tag });
    } catch (error) {
      throw dockerError('tag', `${sourceImage} as ${targetImage}`, daemonMessage(error), error);
    }
    if (targetImage !== sourceImage) created.push(targetImage);

    throwIfAborted(signal, targetImage);
    logger.debug('docker push', { image: targetImage });
    // ImagePush ignores a tag inside the name and pushes every local tag without `tag`, so split them
    const pushEvents = await streamed(
      'push',
      targetImage,
      () =>
        docker.getImage(targetRepository).push({
          tag: target.tag,
          ...(targetAuth && { authconfig: targetAuth }),
          abortSignal: signal,
        }),
      signal,
    );
    const targetDigest = pushEvents.find((e) => typeof e.aux?.Digest === 'string')?.aux?.Digest;
    if (targetDigest === undefined) throw dockerError('push', targetImage, 'the daemon reported no digest for the pushed image');

    // without the daemon's "Digest:" line nothing says which content was pulled, and the listing may be stale
    if (resolved === undefined) throw dockerError('pull', sourceImage, 'the daemon reported no digest for the pulled image');
    return {
      sourceDigest: resolved,
      targetDigest,
      platforms: [platform],
      digestPreserved: targetDigest === resolved,
      bytesUploaded: pushedBytes(pushEvents),
      warnings,
    };
  } finally {
    for (const image of created.reverse()) {
      try {
        await docker.getImage(image).remove();
      } catch (error) {
        logger.warn('could not remove a local image the copy created', { image, reason: redactAll(daemonMessage(error)) });
      }
    }
  }
}
