import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDisableSuggestions } from '@apollo/server/plugin/disableSuggestions';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  type ASTVisitor,
  type DocumentNode,
  type ParseOptions,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  Lexer,
  type OperationDefinitionNode,
  Source,
  TokenKind,
  validate,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { AppConfig } from '@modeltrail/config';
import { operationCost } from './cost';

/** The limits of `config.access` the hardening reads. */
export type HardeningConfig = Pick<AppConfig, 'access'>;

/** Tokens one GraphQL document may have (names, punctuation, values): over ten times the largest query of the portals and tests (about 130), and small enough that validating the worst document of that size (hundreds of copies of one aliased field, which GraphQL compares pairwise) stays under 100 ms. */
export const MAX_TOKENS = 2_000;

/** Directives (`@include`, `@skip`...) one operation may use. */
export const MAX_DIRECTIVES = 50;

/** The code of every refusal below: the request is refused before anything runs, like a query that does not validate. */
export const LIMIT_CODE = 'GRAPHQL_VALIDATION_FAILED';

/** A refusal of the whole operation: HTTP 400, `extensions.code` GRAPHQL_VALIDATION_FAILED, the limit and the value in `extensions.details`. */
export function limitError(message: string, details: Record<string, number>, nodes?: OperationDefinitionNode): GraphQLError {
  return new GraphQLError(message, { ...(nodes ? { nodes: [nodes] } : {}), extensions: { code: LIMIT_CODE, details, http: { status: 400 } } });
}

/** Whether Apollo serves introspection (its `introspection` option): GRAPHQL_INTROSPECTION, off in production by default. */
export function introspectionEnabled(config: HardeningConfig): boolean {
  return config.access.graphqlIntrospection;
}

/** `this query`, or `operation "Name"`, as the depth limit names it. */
function operationLabel(operation: OperationDefinitionNode | undefined): string {
  if (!operation) return 'this operation';
  return operation.name ? `operation "${operation.name.value}"` : `this ${operation.operation}`;
}

/** graphql-armor reports "… limit of N exceeded, found M.": the M. */
function foundIn(error: GraphQLError): number | undefined {
  const match = /found (\d+)/.exec(error.message);
  return match ? Number(match[1]) : undefined;
}

/**
 * graphql-armor's rule, reporting through `context.reportError` (a thrown error would escape
 * GraphQL's validation) in this API's words; armor enters each operation, so `current` tracks it.
 */
function armorRule(
  make: (options: { n: number; allowList: string[]; exposeLimits: true; propagateOnRejection: false; onReject: Array<(context: ValidationContext | null, error: GraphQLError) => void> }) => ValidationRule,
  limit: number,
  describe: (operation: OperationDefinitionNode | undefined, found: number | undefined) => GraphQLError,
): ValidationRule {
  return (context) => {
    let current: OperationDefinitionNode | undefined;
    const inner = make({ n: limit, allowList: [], exposeLimits: true, propagateOnRejection: false, onReject: [(_context, error) => context.reportError(describe(current, foundIn(error)))] })(context);
    const enter = (inner as { OperationDefinition?: { enter?: (node: OperationDefinitionNode) => void } }).OperationDefinition?.enter;
    const visitor: ASTVisitor = {
      OperationDefinition: {
        enter(node) {
          current = node;
          enter?.(node);
        },
      },
    };
    return visitor;
  };
}

/** At most `config.access.graphqlMaxAliases` aliases per operation (graphql-armor max-aliases), `__typename` ones too. */
export function maxAliasesLimit(maxAliases: number): ValidationRule {
  return armorRule(maxAliasesRule as never, maxAliases, (operation, found) =>
    limitError(
      `${operationLabel(operation)} uses ${found ?? 'more'} aliases; the limit is ${maxAliases} (GRAPHQL_MAX_ALIASES): ask for each field once, or send several requests`,
      { aliases: found ?? maxAliases + 1, maxAliases },
      operation,
    ),
  );
}

/** At most MAX_DIRECTIVES directives per operation (graphql-armor max-directives). */
export function maxDirectivesLimit(maxDirectives: number = MAX_DIRECTIVES): ValidationRule {
  return armorRule(maxDirectivesRule as never, maxDirectives, (operation, found) =>
    limitError(`${operationLabel(operation)} uses ${found ?? 'more'} directives; the limit is ${maxDirectives}`, { directives: found ?? maxDirectives + 1, maxDirectives }, operation),
  );
}

/**
 * The validation rules of the hardening, for Apollo's `validationRules` (next to the depth limit):
 * aliases per operation (GRAPHQL_MAX_ALIASES) and directives per operation (MAX_DIRECTIVES).
 * The cost limit needs the variables, so it is a plugin (hardeningPlugins); the token limit is a
 * parser option (hardeningParseOptions).
 */
export function hardeningValidationRules(config: HardeningConfig): ValidationRule[] {
  return [maxAliasesLimit(config.access.graphqlMaxAliases), maxDirectivesLimit()];
}

/**
 * The refusal of a document with more than `maxTokens` tokens, or null. It only lexes, and stops
 * at the first token over the limit: a 9 MB document of `a a a …` costs no more than the limit.
 */
export function tokenProblem(source: string, maxTokens: number = MAX_TOKENS): GraphQLError | null {
  const lexer = new Lexer(new Source(source));
  let tokens = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      tokens += 1;
      if (tokens > maxTokens) return limitError(`this document has more than ${maxTokens} tokens, the limit: send a smaller query`, { tokens, maxTokens });
    }
  } catch {
    return null; // a syntax error: GraphQL's parser reports it
  }
  return null;
}

/** The refusal of an operation costing more than `maxCost`, or null (also when the variables do not fit: execution reports those). */
export function costProblem(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, maxCost: number, operation?: OperationDefinitionNode): GraphQLError | null {
  let cost: number;
  try {
    cost = operationCost(schema, document, variables, operation?.name?.value);
  } catch {
    return null;
  }
  if (cost <= maxCost) return null;
  return limitError(
    `${operationLabel(operation)} costs ${cost}; the limit is ${maxCost} (GRAPHQL_MAX_COST): each page size (first, last) and id list multiplies what is selected under it, and lineage counts its depth; ask for smaller pages or fewer nested lists`,
    { cost, maxCost },
    operation,
  );
}

/**
 * Apollo's `parseOptions` (and graphql-ws's parse): graphql-js stops parsing a document at
 * MAX_TOKENS tokens ("Document contains more than 2000 tokens"), before any validation runs; the
 * ErrorFormatter answers that as this API's token refusal (tokenLimitError). A plugin cannot do it:
 * Apollo turns an error thrown before parsing into a 500.
 */
export function hardeningParseOptions(): ParseOptions {
  return { maxTokens: MAX_TOKENS };
}

/** graphql-js's message when `maxTokens` stopped the parser: the limit it names. */
const PARSER_TOKEN_LIMIT = /Document contains more tha[nt] (\d+) tokens/; // graphql 16 writes "more that"

/** The token refusal for graphql-js's own "more than N tokens" syntax error, or null for any other error message. */
export function tokenLimitError(message: string): GraphQLError | null {
  const match = PARSER_TOKEN_LIMIT.exec(message);
  if (!match) return null;
  const maxTokens = Number(match[1]);
  return limitError(`this document has more than ${maxTokens} tokens, the limit: send a smaller query`, { tokens: maxTokens + 1, maxTokens });
}

/**
 * The hardening's Apollo plugins:
 * - the cost limit (GRAPHQL_MAX_COST), once the operation and its variables are known
 *   (a GraphQLError thrown in didResolveOperation is answered with its own HTTP status, 400);
 * - when introspection is off, Apollo's DisableSuggestions: no "Did you mean …?" in validation
 *   errors (the ErrorFormatter also strips them from every other error, over WebSocket too).
 * The token limit is hardeningParseOptions; aliases and directives are hardeningValidationRules.
 */
export function hardeningPlugins(config: HardeningConfig): ApolloServerPlugin[] {
  const maxCost = config.access.graphqlMaxCost;
  const limits: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const problem = costProblem(requestContext.schema, requestContext.document, requestContext.request.variables, maxCost, requestContext.operation);
          if (problem) throw problem;
        },
      };
    },
  };
  return introspectionEnabled(config) ? [limits] : [limits, ApolloServerPluginDisableSuggestions()];
}

/**
 * The same limits for an operation that does not go through Apollo (graphql-ws's onSubscribe):
 * tokens (parse with hardeningParseOptions() first, so a huge document is never parsed whole;
 * counted again here), aliases, directives and cost of every operation of the document. The errors carry
 * `extensions.code` GRAPHQL_VALIDATION_FAILED and `details`; an empty list means none.
 */
export function hardeningProblems(document: DocumentNode, schema: GraphQLSchema, variables: Record<string, unknown> | null | undefined, config: HardeningConfig): GraphQLError[] {
  const source = document.loc?.source.body;
  const tokens = source === undefined ? null : tokenProblem(source);
  if (tokens) return [tokens];
  const problems = [...validate(schema, document, hardeningValidationRules(config))];
  if (problems.length) return problems;
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  for (const operation of operations) {
    const problem = costProblem(schema, document, variables ?? undefined, config.access.graphqlMaxCost, operation);
    if (problem) problems.push(problem);
  }
  return problems;
}
