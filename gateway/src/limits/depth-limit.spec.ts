import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { depthLimitRule, depthProblem } from './depth-limit';

const schema = buildSchema(`
  type Node { id: ID!, child: Node, children: [Node!]! }
  type Query { node: Node }
`);

const nested = (levels: number) => `{ ${'node { '.repeat(1)}${'child { '.repeat(levels - 2)}id${' }'.repeat(levels - 1)} }`;

describe('query depth limit', () => {
  it('counts nested fields, through fragments and inline fragments', () => {
    expect(depthProblem(parse('{ node { id } }'), 2)).toEqual([]);
    expect(depthProblem(parse('{ node { child { id } } }'), 2)[0].message).toMatch(/this query nests fields 3 levels deep; the limit is 2/);
    const viaFragments = parse('query Deep { node { ...A } } fragment A on Node { child { ... on Node { child { ...B } } } } fragment B on Node { id }');
    const [problem] = depthProblem(viaFragments, 3);
    expect(problem.message).toMatch(/operation "Deep" nests fields 4 levels deep; the limit is 3/);
    expect(problem.extensions).toEqual({ details: { depth: 4, maxDepth: 3 } });
  });

  it('is a validation rule that lets queries up to the limit through', () => {
    const rules = [...specifiedRules, depthLimitRule(12)];
    expect(validate(schema, parse(nested(12)), rules)).toEqual([]);
    const errors = validate(schema, parse(nested(13)), rules);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/nests fields 13 levels deep; the limit is 12/)]);
  });

  it('does not count introspection, so tools can always read the schema', () => {
    expect(validate(schema, parse(getIntrospectionQuery()), [...specifiedRules, depthLimitRule(3)])).toEqual([]);
  });

  it('survives fragment cycles (reported by the specified rules instead)', () => {
    const cyclic = parse('{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }');
    expect(depthProblem(cyclic, 10)).toEqual([]);
    expect(validate(schema, cyclic, [...specifiedRules, depthLimitRule(10)]).map((e) => e.message)).toEqual([expect.stringMatching(/Cannot spread fragment "A" within itself/)]);
  });
});
