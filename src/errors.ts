/** The one error type of gcrsync. `code` says what kind of failure it is; `exitCodeFor` maps it to the CLI's exit status. */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'BAD_REFERENCE'
  | 'METADATA_CORRUPT'
  | 'SOURCE_UNREACHABLE'
  | 'AUTH'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'REGISTRY'
  | 'HOSTILE_RESPONSE'
  | 'DIGEST_MISMATCH'
  | 'UNSUPPORTED'
  | 'DOCKER'
  | 'GIT'
  | 'GIT_PUSH_REJECTED'
  /** the image has none of the platforms the run copies: not wanted, not a failure */
  | 'NO_MATCHING_PLATFORM'
  | 'ABORTED';

export interface ErrorInfo {
  /** the image, repository, file or URL the error is about (already redacted) */
  ref?: string;
  /** HTTP status when the error came from a registry answer */
  status?: number;
  /** the first error code of the registry's answer body (`DIGEST_INVALID`, `BLOB_UPLOAD_UNKNOWN`, …) */
  registryCode?: string;
  /** each problem of a CONFIG or USAGE error that lists several, one line each (`config validate` merges them) */
  problems?: string[];
  cause?: unknown;
}

export class GcrsyncError extends Error {
  readonly code: ErrorCode;
  readonly info: ErrorInfo;
  constructor(code: ErrorCode, message: string, info: ErrorInfo = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'GcrsyncError';
    this.code = code;
    this.info = info;
  }
}

/** Errors that stop a command before it changes anything exit 2; everything else reached the end of the run. */
export function exitCodeFor(error: unknown): number {
  return isGcrsyncError(error, 'ABORTED') ? 130 : 2;
}

export function isGcrsyncError(error: unknown, code?: ErrorCode): error is GcrsyncError {
  return error instanceof GcrsyncError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, for per-image failure reports. */
export function describeError(error: unknown): string {
  if (error instanceof GcrsyncError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The signal of work that nothing cancels but the end of the process (reading the config file, a `list` or
 * `pull`, the commit of what a run verified): passed explicitly, so no I/O call goes without a signal.
 */
export const UNINTERRUPTED: AbortSignal = new AbortController().signal;
