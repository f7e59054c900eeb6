/** Trees drawn with box-drawing characters, and the lineage graph as such a tree. Pure. */

export interface TreeNode {
  label: string;
  children: TreeNode[];
}

/** The tree as lines: the root, then each child under `├── ` / `└── ` with `│   ` continuing its parent's line. */
export function renderTree(root: TreeNode): string {
  const lines: string[] = [root.label];
  const walk = (node: TreeNode, prefix: string) => {
    node.children.forEach((child, i) => {
      const last = i === node.children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${child.label}`);
      walk(child, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(root, '');
  return `${lines.join('\n')}\n`;
}

export interface LineageNodeView {
  id: string;
  kind: string;
  name?: string | null;
  depth: number;
  direction: string;
  redacted?: boolean;
  endedAt?: string | null;
  endReason?: string | null;
}

export interface LineageEdgeView {
  from: string;
  to: string;
  type: string;
  endedAt?: string | null;
}

export interface LineageGraphView {
  root: LineageNodeView;
  nodes: LineageNodeView[];
  edges: LineageEdgeView[];
}

export function nodeLabel(node: LineageNodeView): string {
  if (node.redacted) return `${node.kind} (redacted) ${node.id}`;
  const name = node.name ? ` "${node.name}"` : '';
  const ended = node.endedAt ? ` (ended ${node.endedAt}${node.endReason ? `: ${node.endReason}` : ''})` : '';
  return `${node.kind}${name} ${node.id}${ended}`;
}

/**
 * The lineage as a tree from its root: what it came from under "upstream" (following edges into
 * each node), what came of it under "downstream" (edges out of each node), each child labelled
 * with the edge that reaches it. The graph is a DAG, not a tree: a node met a second time in a
 * walk is shown again, marked "(see above)", and not expanded again.
 */
export function lineageTree(graph: LineageGraphView): TreeNode {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  byId.set(graph.root.id, byId.get(graph.root.id) ?? graph.root);
  const order = (a: LineageNodeView, b: LineageNodeView) => a.depth - b.depth || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id);

  const walk = (direction: 'UPSTREAM' | 'DOWNSTREAM'): TreeNode[] => {
    const seen = new Set<string>([graph.root.id]);
    const childrenOf = (id: string): Array<{ node: LineageNodeView; edge: LineageEdgeView }> => {
      const found: Array<{ node: LineageNodeView; edge: LineageEdgeView }> = [];
      for (const edge of graph.edges) {
        const otherId = direction === 'UPSTREAM' ? (edge.to === id ? edge.from : undefined) : edge.from === id ? edge.to : undefined;
        if (otherId === undefined) continue;
        const node = byId.get(otherId);
        if (!node || node.direction !== direction) continue;
        found.push({ node, edge });
      }
      return found.sort((a, b) => order(a.node, b.node) || a.edge.type.localeCompare(b.edge.type));
    };
    const expand = (id: string): TreeNode[] =>
      childrenOf(id).map(({ node, edge }) => {
        const label = `${edge.type}${edge.endedAt ? ` (ended ${edge.endedAt})` : ''} ${direction === 'UPSTREAM' ? '←' : '→'} ${nodeLabel(node)}`;
        if (seen.has(node.id)) return { label: `${label} (see above)`, children: [] };
        seen.add(node.id);
        return { label, children: expand(node.id) };
      });
    return expand(graph.root.id);
  };

  const upstream = walk('UPSTREAM');
  const downstream = walk('DOWNSTREAM');
  const sections: TreeNode[] = [];
  if (upstream.length > 0) sections.push({ label: 'upstream', children: upstream });
  if (downstream.length > 0) sections.push({ label: 'downstream', children: downstream });
  return { label: nodeLabel(byId.get(graph.root.id)!), children: sections };
}

