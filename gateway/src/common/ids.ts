import { parseWith, uuid, z } from '@modeltrail/contracts';

const id = uuid();
/** One schema per argument name, made once: building a zod schema costs more than using it. */
const idSchemas = new Map<string, z.ZodType>();
const idListSchemas = new Map<string, z.ZodType>();

function schemaFor(cache: Map<string, z.ZodType>, field: string, make: () => z.ZodType): z.ZodType {
  let schema = cache.get(field);
  if (!schema) cache.set(field, (schema = make()));
  return schema;
}

/**
 * An id argument in canonical form (lower-case UUID), or a ValidationError naming the argument:
 * ids key the request's DataLoaders, so `ABC…` and `abc…` must be one key, and one malformed id
 * must not fail a whole batch of lookups.
 */
export function parseId(value: string, field: string): string {
  const schema = schemaFor(idSchemas, field, () => z.object({ [field]: id }));
  return (parseWith(schema, { [field]: value }, `argument ${field}`) as Record<string, string>)[field];
}

export function parseIds(values: ReadonlyArray<string>, field: string): string[] {
  const schema = schemaFor(idListSchemas, field, () => z.object({ [field]: z.array(id) }));
  return (parseWith(schema, { [field]: values }, `argument ${field}`) as Record<string, string[]>)[field];
}

/**
 * A GraphQL enum whose names are the UPPER_CASE form of the contract's values
 * (`Active` → `ACTIVE`), so the API and the contracts cannot drift apart.
 */
export function enumOf<const V extends string>(values: ReadonlyArray<V>): { [K in V as Uppercase<K>]: K } {
  return Object.fromEntries(values.map((value) => [value.toUpperCase(), value])) as { [K in V as Uppercase<K>]: K };
}
