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

/** The first entry of a distribution error document (`{"errors":[{code,message,detail}]}`), or the body's first line. */
export function readErrorBody(text: string): { code?: string; description?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const line = text.trim().split('\n')[0]?.slice(0, 200);
    return line ? { description: line } : {};
  }
  if (!parsed || typeof parsed !== 'object') return {};
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return {};
  const first = errors[0] as { code?: unknown; message?: unknown };
  const code = typeof first.code === 'string' ? first.code.slice(0, 100) : undefined;
  const message = typeof first.message === 'string' ? first.message.slice(0, 200) : undefined;
  const description = [code, message].filter(Boolean).join(': ');
  return { ...(code !== undefined && { code }), ...(description !== '' && { description }) };
}

/**
 * Turns an unexpected answer into a GcrsyncError: 401/403 AUTH, 404 NOT_FOUND, 429 RATE_LIMITED, else REGISTRY.
 * `what` names the repository or URL (already redacted); the error body's first error is appended, redacted.
 */
export async function errorForResponse(response: HttpResponse, what: string): Promise<GcrsyncError> {
  let body: { code?: string; description?: string } = {};
  try {
    // redacted before it is cut to length: half a secret would no longer match it
    body = readErrorBody(redactAll(await response.text(ERROR_BODY_LIMIT)));
  } catch {
    await response.discard();
  }
  const status = response.status;
  const message = redactAll(`${what}: HTTP ${status}${body.description ? ` (${body.description})` : ''}`);
  return new GcrsyncError(codeForStatus(status), message, {
    ref: what,
    status,
    ...(body.code !== undefined && { registryCode: body.code }),
  });
}
