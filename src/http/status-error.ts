import { GcrsyncError, type ErrorCode } from '../errors.js';
import { redactAll } from '../log.js';
import type { HttpResponse } from './response.js';

// ggcr caps error bodies at 64 KiB: enough for any real error document, too little to hurt.
const ERROR_BODY_LIMIT = 64 * 1024;

export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'AUTH';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  return 'REGISTRY';
}

export function isTemporaryStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `CODE: message` of the first entry of a distribution error document (`{"errors":[{code,message,detail}]}`). */
export function describeErrorBody(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const line = text.trim().split('\n')[0]?.slice(0, 200);
    return line ? line : undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const first = errors[0] as { code?: unknown; message?: unknown };
  const code = typeof first.code === 'string' ? first.code : undefined;
  const message = typeof first.message === 'string' ? first.message.slice(0, 200) : undefined;
  return [code, message].filter(Boolean).join(': ') || undefined;
}

/**
 * Turns an unexpected answer into a GcrsyncError: 401/403 AUTH, 404 NOT_FOUND, 429 RATE_LIMITED, else REGISTRY.
 * `what` names the repository or URL (already redacted); the error body's first error is appended, redacted.
 */
export async function errorForResponse(response: HttpResponse, what: string): Promise<GcrsyncError> {
  let detail: string | undefined;
  try {
    // redacted before it is cut to length: half a secret would no longer match it
    detail = describeErrorBody(redactAll(await response.text(ERROR_BODY_LIMIT)));
  } catch {
    await response.discard();
  }
  const status = response.status;
  const message = redactAll(`${what}: HTTP ${status}${detail ? ` (${detail})` : ''}`);
  return new GcrsyncError(codeForStatus(status), message, {
    ref: what,
    status,
    ...(isTemporaryStatus(status) && { temporary: true }),
  });
}
