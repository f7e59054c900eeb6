import { z } from 'zod';
import { ValidationError } from './errors';

/** The one runtime schema library of the platform. Re-exported so nobody imports a second. */
export { z };

/**
 * A UUID in its canonical lower-case form. Ids name streams (`dataset-<id>`) and rows, so
 * `ABC…` and `abc…` must not become two aggregates of one thing.
 */
export const uuid = () => z.uuid({ message: 'must be a UUID' }).transform((value) => value.toLowerCase());

/** A human-readable path for a zod issue: `resources.gpus`, `points[3].value`. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/**
 * Parses `value` with `schema`, throwing a ValidationError whose message names every failing
 * field (`what: field "x" expected string, received number`) and whose details list them.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: formatIssuePath(issue.path), message: issue.message }));
  const summary = issues.map((i) => `field "${i.field}": ${i.message}`).join('; ');
  throw new ValidationError(`${what} is invalid: ${summary}`, { issues });
}
