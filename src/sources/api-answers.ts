import { GcrsyncError } from '../errors.js';

/**
 * Shape checks for the JSON of registry web APIs (Quay, Docker Hub). Their answers are untrusted input,
 * read as `unknown`; anything off-shape is HOSTILE_RESPONSE naming the URL.
 */

export function hostileAnswer(where: string, why: string): GcrsyncError {
  return new GcrsyncError('HOSTILE_RESPONSE', `${where}: ${why}`, { ref: where });
}

export function answerRecord(value: unknown, where: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw hostileAnswer(where, `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** A list field; absent or null is an empty list (both APIs send null on empty pages). */
export function answerList(value: unknown, where: string, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw hostileAnswer(where, `${what} is not a list`);
  return value;
}

/** An optional string field: absent, null and '' all mean "none" (the last page's cursor is sent either way). */
export function optionalAnswerString(value: unknown, where: string, what: string, maxLength: number): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw hostileAnswer(where, `${what} is not a string`);
  if (value.length > maxLength) throw hostileAnswer(where, `${what} is over-long (${value.length} characters)`);
  return value;
}
