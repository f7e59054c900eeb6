import { parseWith, uuid, z } from '@modeltrail/contracts';

const id = uuid();

/**
 * An id argument in canonical form (lower-case UUID), or a ValidationError naming the argument:
 * ids key the request's DataLoaders, so `ABC…` and `abc…` must be one key, and one malformed id
 * must not fail a whole batch of lookups.
 */
export function parseId(value: string, field: string): string {
  return parseWith(z.object({ [field]: id }), { [field]: value }, `argument ${field}`)[field] as string;
}

export function parseIds(values: ReadonlyArray<string>, field: string): string[] {
  return parseWith(z.object({ [field]: z.array(id) }), { [field]: values }, `argument ${field}`)[field] as string[];
}

/**
 * A GraphQL enum whose names are the UPPER_CASE form of the contract's values
 * (`Active` → `ACTIVE`), so the API and the contracts cannot drift apart.
 */
export function enumOf<const V extends string>(values: ReadonlyArray<V>): { [K in V as Uppercase<K>]: K } {
  return Object.fromEntries(values.map((value) => [value.toUpperCase(), value])) as { [K in V as Uppercase<K>]: K };
}
