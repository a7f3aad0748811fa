import { isGcrsyncError } from '../errors.js';
import { networkErrorCode } from '../http/retry.js';
import type { PlanItem } from './plan.js';

/**
 * Failures that are about the setup, not the image: wrong or missing credentials for the target, a read-only
 * target, a target that cannot be reached, no Docker daemon. Every other image would fail the same way, so a run
 * stops after a few of them with one message that says what to do.
 */
export interface SetupFailure {
  /** identical failures share a key */
  key: string;
  /** what is wrong, naming the registry, and what to do about it */
  message: string;
}

/** How many identical setup failures stop a run: one could be a fluke of that image, three are not. */
export const SETUP_FAILURE_LIMIT = 3;

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const NO_DAEMON = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES']);

export function setupFailure(error: unknown, item: PlanItem): SetupFailure | undefined {
  if (!isGcrsyncError(error)) return undefined;
  const registry = item.target.registry;
  const atTarget = error.message.includes(registry) || /:(?:[a-z]+,)*push\b/.test(error.message);
  const cause = networkErrorCode(error.info.cause ?? error.cause);
  if (error.code === 'AUTH' && atTarget) {
    return {
      key: `auth ${registry} ${error.info.status ?? ''}`,
      message:
        `${registry} refused the push${error.info.status !== undefined ? ` (HTTP ${error.info.status})` : ''}: give credentials that may push there ` +
        `(GCRSYNC_USERNAME and GCRSYNC_PASSWORD, --username/--password, or docker login ${registry})`,
    };
  }
  if (error.code === 'REGISTRY' && error.info.status === 405 && atTarget) {
    return {
      key: `read-only ${registry}`,
      message: `${registry} does not accept pushes (HTTP 405: read-only, or a pull-through cache): point --target at a registry you can push to`,
    };
  }
  if (error.code === 'REGISTRY' && error.info.status === undefined && cause !== undefined && UNREACHABLE.has(cause) && atTarget) {
    return {
      key: `unreachable ${registry} ${cause}`,
      message: `${registry} cannot be reached (${cause}): check the --target host and port, the network, and --insecure-registry for a plain-HTTP registry`,
    };
  }
  if (error.code === 'DOCKER' && cause !== undefined && NO_DAEMON.has(cause)) {
    const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    return {
      key: `docker ${cause}`,
      message: `no Docker daemon answers at ${host} (${cause}): start it, set DOCKER_HOST, or use --transport registry`,
    };
  }
  return undefined;
}
