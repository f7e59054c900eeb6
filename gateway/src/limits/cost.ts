import { type ComplexityEstimator, type ComplexityEstimatorArgs, getComplexity } from 'graphql-query-complexity';
import { type DocumentNode, getNamedType, type GraphQLSchema, isListType, isNonNullType, type GraphQLInputType } from 'graphql';

/** The deepest lineage walk the lineage service accepts (`lineage(depth:)` is 0 to 1000; omitted means no limit). */
export const MAX_LINEAGE_DEPTH = 1000;

/** What one level of a lineage walk costs: a walk reads every node of a level before the page is cut. */
export const LINEAGE_LEVEL_COST = 5;

/**
 * The largest page any field serves (`Job.logs(first:)`, 1 to 5000): a larger `first` is refused
 * by the field itself (BAD_USER_INPUT naming its bound), so it counts as this much here and the
 * client gets that precise refusal rather than a cost one.
 */
export const MAX_PAGE_SIZE = 5000;

/** Pagination arguments: the cost of everything selected under such a field is multiplied by their value. */
const PAGE_SIZE_ARGUMENTS = ['first', 'last'] as const;

/**
 * The platform's cost of one field, for graphql-query-complexity:
 * - every field costs 1, plus what is selected under it;
 * - a page (`first:` or `last:`, with the schema's default when not given) multiplies what is
 *   selected under it by its size, so `datasets(first: 200) { nodes { versions(first: 200) { nodes { id } } } }`
 *   costs about 200 × 200 × 2 (a page over MAX_PAGE_SIZE counts as MAX_PAGE_SIZE);
 * - a list of ids (`compareRuns(ids: [ID!]!)`) multiplies likewise by its length;
 * - `Query.lineage` adds LINEAGE_LEVEL_COST per level of its walk, `depth` omitted counting as
 *   MAX_LINEAGE_DEPTH levels (the walk has no limit then).
 */
export const platformCostEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }: ComplexityEstimatorArgs): number => {
  let multiplier = 1;
  for (const name of PAGE_SIZE_ARGUMENTS) {
    const value = args[name];
    if (typeof value === 'number' && Number.isFinite(value)) multiplier = Math.max(multiplier, Math.min(value, MAX_PAGE_SIZE));
  }
  for (const argument of field.args) {
    const value = args[argument.name];
    if (Array.isArray(value) && isIdList(argument.type)) multiplier = Math.max(multiplier, value.length);
  }
  let own = 1;
  if (type.name === 'Query' && field.name === 'lineage') {
    const depth = typeof args.depth === 'number' && Number.isFinite(args.depth) ? Math.max(0, args.depth) : MAX_LINEAGE_DEPTH;
    own += LINEAGE_LEVEL_COST * depth;
  }
  return own + multiplier * childComplexity;
};

function isIdList(type: GraphQLInputType): boolean {
  const unwrapped = isNonNullType(type) ? type.ofType : type;
  return isListType(unwrapped) && getNamedType(unwrapped).name === 'ID';
}

/**
 * The cost of one operation of `document` (the one named `operationName`, or its only one) with
 * `variables`, by platformCostEstimator. Throws a GraphQLError when the document or the variables do
 * not fit the schema (GraphQL's own validation reports those).
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName?: string): number {
  return getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    ...(operationName ? { operationName } : {}),
    estimators: [platformCostEstimator],
    // Aliases and tokens are limited before; this bounds the walk itself.
    maxQueryNodes: 100_000,
  });
}
