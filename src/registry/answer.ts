import * as z from 'zod';
import { GcrsyncError } from '../errors.js';
import { isValidDigest } from '../ref/reference.js';

/**
 * Checking what registries and their web APIs answer. Answers are untrusted input: each is read as `unknown`
 * and checked against a zod schema; anything off-shape is HOSTILE_RESPONSE naming `where` (a redacted URL
 * or a repository) and the JSON path of the first bad value, never the value itself.
 */

export function hostile(where: string, why: string): GcrsyncError {
  return new GcrsyncError('HOSTILE_RESPONSE', `${where}: ${why}`, { ref: where });
}

/** `manifests[0].platform`; a key from the answer is quoted and cut short. */
function pathText(what: string, path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    const name = String(key);
    return /^[A-Za-z_][\w.]*$/.test(name) && name.length <= 80 ? `${out}.${name}` : `${out}[${JSON.stringify(name.slice(0, 80))}]`;
  }, what);
}

/** The answer as `schema` reads it, or HOSTILE_RESPONSE naming `what` (the kind of answer) and the bad value's path. */
export function parseAnswer<S extends z.ZodType>(schema: S, value: unknown, where: string, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // a bad key of a map says why in its own issue
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  throw hostile(where, `${pathText(what, issue.path)}: ${message}`);
}

/** An optional field: absent and null both mean "not there", and the key is left out. */
export const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());

/** A list field; absent or null is an empty list (registries and APIs send null for empty pages). */
export const listOf = <T extends z.ZodType>(item: T) => z.array(item).nullish().transform((v): Array<z.output<T>> => v ?? []);

export const digest = z.string().refine(isValidDigest, 'is not a valid digest');

/** Drops keys whose value is undefined, so an optional field that was null or absent is not there at all. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
