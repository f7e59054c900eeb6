import { GraphQLError, GraphQLScalarType, Kind, type ObjectValueNode, type ValueNode } from 'graphql';
import { z } from '@modeltrail/contracts';

const isoDateTime = z.iso.datetime({ offset: true });

function toIsoString(value: unknown, where: string): string {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === 'string' && isoDateTime.safeParse(value).success) return new Date(value).toISOString();
  throw new GraphQLError(`DateTime ${where} must be an ISO-8601 date-time such as 2026-11-22T12:00:00Z, got ${JSON.stringify(value)}`);
}

/** Times cross the API as ISO-8601 strings in UTC (`2026-11-22T12:00:00.000Z`). */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date-time. Output is always UTC with milliseconds (2026-11-22T12:00:00.000Z); input may carry an offset.',
  serialize: (value) => toIsoString(value, 'value'),
  parseValue: (value) => toIsoString(value, 'input'),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime input must be a string such as "2026-11-22T12:00:00Z"');
    return toIsoString(ast.value, 'input');
  },
});

/** Any JSON value: run parameters, event data, a fill value. */
export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value (object, list, string, number, boolean or null).',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalValue(ast, variables ?? undefined),
});

function literalValue(ast: ValueNode, variables: Record<string, unknown> | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((value) => literalValue(value, variables));
    case Kind.OBJECT:
      return objectValue(ast, variables);
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default: {
      const unexpected: never = ast;
      throw new GraphQLError(`unexpected JSON literal ${(unexpected as ValueNode).kind}`);
    }
  }
}

function objectValue(ast: ObjectValueNode, variables: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const field of ast.fields) out[field.name.value] = literalValue(field.value, variables);
  return { ...out };
}
