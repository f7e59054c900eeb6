import { lineageTree, renderTree } from './tree';

describe('tree rendering', () => {
  it('draws children with box-drawing characters, continuing the parent lines', () => {
    const text = renderTree({
      label: 'root',
      children: [
        { label: 'a', children: [{ label: 'a1', children: [] }, { label: 'a2', children: [] }] },
        { label: 'b', children: [{ label: 'b1', children: [] }] },
      ],
    });
    expect(text).toBe(['root', '├── a', '│   ├── a1', '│   └── a2', '└── b', '    └── b1', ''].join('\n'));
  });

  it('draws a lineage as upstream and downstream walks from the root, each child under the edge that reaches it', () => {
    const graph = {
      root: { id: 'mv', kind: 'model_version', name: 'churn v1', depth: 0, direction: 'ROOT' },
      nodes: [
        { id: 'mv', kind: 'model_version', name: 'churn v1', depth: 0, direction: 'ROOT' },
        { id: 'run', kind: 'run', depth: 1, direction: 'UPSTREAM' },
        { id: 'dv', kind: 'dataset_version', name: 'churn v1', depth: 2, direction: 'UPSTREAM' },
        { id: 'alias', kind: 'alias', name: 'champion', depth: 1, direction: 'DOWNSTREAM', endedAt: '2026-11-02T00:00:00.000Z', endReason: 'moved' },
        { id: 'other', kind: 'project', depth: 3, direction: 'UPSTREAM', redacted: true },
      ],
      edges: [
        { from: 'run', to: 'mv', type: 'PRODUCED_BY' },
        { from: 'dv', to: 'run', type: 'TRAINED_ON' },
        { from: 'mv', to: 'alias', type: 'POINTS_TO' },
        { from: 'other', to: 'dv', type: 'BELONGS_TO' },
      ],
    };
    expect(renderTree(lineageTree(graph))).toBe(
      [
        'model_version "churn v1" mv',
        '├── upstream',
        '│   └── PRODUCED_BY ← run run',
        '│       └── TRAINED_ON ← dataset_version "churn v1" dv',
        '│           └── BELONGS_TO ← project (redacted) other',
        '└── downstream',
        '    └── POINTS_TO → alias "champion" alias (ended 2026-11-02T00:00:00.000Z: moved)',
        '',
      ].join('\n'),
    );
  });

  it('shows a node reached twice once in full, then marked "(see above)", so a DAG cannot loop or repeat a subtree', () => {
    const graph = {
      root: { id: 'run', kind: 'run', depth: 0, direction: 'ROOT' },
      nodes: [
        { id: 'run', kind: 'run', depth: 0, direction: 'ROOT' },
        { id: 'train', kind: 'dataset_version', depth: 1, direction: 'UPSTREAM' },
        { id: 'valid', kind: 'dataset_version', depth: 1, direction: 'UPSTREAM' },
        { id: 'split', kind: 'split', depth: 2, direction: 'UPSTREAM' },
        { id: 'source', kind: 'dataset_version', depth: 3, direction: 'UPSTREAM' },
      ],
      edges: [
        { from: 'train', to: 'run', type: 'TRAINED_ON' },
        { from: 'valid', to: 'run', type: 'TRAINED_ON' },
        { from: 'split', to: 'train', type: 'PART_OF' },
        { from: 'split', to: 'valid', type: 'PART_OF' },
        { from: 'source', to: 'split', type: 'SPLITS' },
      ],
    };
    const text = renderTree(lineageTree(graph));
    expect(text.match(/SPLITS/g)).toHaveLength(1);
    expect(text).toContain('\n        └── PART_OF ← split split (see above)\n');
    expect(text).not.toContain('downstream');
  });

  it('is the root alone when nothing is connected', () => {
    const root = { id: 'x', kind: 'dataset', name: 'lonely', depth: 0, direction: 'ROOT' };
    expect(renderTree(lineageTree({ root, nodes: [root], edges: [] }))).toBe('dataset "lonely" x\n');
  });
});
