import { type ASTVisitor, type DocumentNode, type FragmentDefinitionNode, GraphQLError, Kind, type OperationDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';

/**
 * How deeply an operation nests fields: `{ datasets { nodes { id } } }` is 3. Fragments count
 * where they are spread; introspection fields (`__schema`, `__type`, `__typename`) do not count,
 * so tools can always read the schema.
 */
export function operationDepth(operation: OperationDefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): number {
  return selectionDepth(operation.selectionSet, fragments, new Set());
}

function selectionDepth(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, visiting: Set<string>): number {
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    switch (selection.kind) {
      case Kind.FIELD: {
        if (selection.name.value.startsWith('__')) break;
        const below = selection.selectionSet ? selectionDepth(selection.selectionSet, fragments, visiting) : 0;
        deepest = Math.max(deepest, 1 + below);
        break;
      }
      case Kind.INLINE_FRAGMENT:
        deepest = Math.max(deepest, selectionDepth(selection.selectionSet, fragments, visiting));
        break;
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // Unknown fragments and cycles are reported by GraphQL's own rules.
        if (!fragment || visiting.has(name)) break;
        visiting.add(name);
        deepest = Math.max(deepest, selectionDepth(fragment.selectionSet, fragments, visiting));
        visiting.delete(name);
        break;
      }
      default: {
        const unexpected: never = selection;
        throw new Error(`unexpected selection ${(unexpected as { kind: string }).kind}`);
      }
    }
  }
  return deepest;
}

/** One error per operation of the document nested deeper than `maxDepth`. */
export function depthProblem(document: DocumentNode, maxDepth: number): GraphQLError[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const problems: GraphQLError[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const depth = operationDepth(definition, fragments);
    if (depth > maxDepth) {
      const name = definition.name ? `operation "${definition.name.value}"` : `this ${definition.operation}`;
      problems.push(
        new GraphQLError(`${name} nests fields ${depth} levels deep; the limit is ${maxDepth}: ask for less at once, or follow ids in a second request`, {
          nodes: [definition],
          extensions: { details: { depth, maxDepth } },
        }),
      );
    }
  }
  return problems;
}

/** A GraphQL validation rule limiting every operation of a document to `maxDepth` nested fields. */
export function depthLimitRule(maxDepth: number): (context: ValidationContext) => ASTVisitor {
  return (context) => ({
    Document: {
      leave(document) {
        for (const problem of depthProblem(document, maxDepth)) context.reportError(problem);
      },
    },
  });
}
