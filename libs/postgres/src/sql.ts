/** Quotes an SQL identifier (schema, table, channel). */
export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`"${name}" is not a safe SQL identifier`);
  return `"${name}"`;
}

/** A 64-bit advisory lock key derived from a name, stable across processes. */
export function advisoryKey(name: string): string {
  // FNV-1a 64-bit, as a signed bigint string for pg_advisory_*_lock(bigint).
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, hash).toString();
}
