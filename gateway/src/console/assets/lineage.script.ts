/** app/lineage.js: the lineage graph of a model version (or any entity) as of a moment, drawn with cytoscape. */
export const LINEAGE_JS = String.raw`import { clear, el, formatTime, formatValue, gql, option, row, shortId, status } from './api.js';

/** Colours by kind: data blue, experiments orange, jobs purple, models green, promotions red, production cyan. */
export const KIND_COLORS = {
  dataset: '#2f80ed', dataset_version: '#2f80ed', validation: '#5b9cf0', split: '#5b9cf0',
  experiment: '#f2994a', run: '#f2994a', artifact: '#f2c94c', sweep: '#f2c94c',
  job: '#9b51e0', agent: '#bb6bd9',
  model: '#219653', model_version: '#27ae60',
  promotion: '#eb5757', alias: '#eb5757',
  deployment: '#2d9cdb', monitor: '#56ccf2', alert: '#56ccf2', retrain: '#56ccf2',
  project: '#828282', actor: '#bdbdbd',
};
const OTHER_COLOR = '#828282';

const LINEAGE = 'query($id: ID!, $asOf: AsOfInput) { lineage(id: $id, asOf: $asOf, first: 1000) { totalNodes totalEdges position pageInfo { hasNextPage } ' +
  'nodes { id kind name depth direction createdAt createdBy projectId redacted endedAt endReason attributes } ' +
  'edges { from to type createdAt endedAt } } }';
const VERSIONS = '{ models(first: 100) { nodes { id name versions(first: 50) { nodes { id version createdAt } } } } }';

let cy = null;
let nodes = [];

/** The nodes drawn now ({ id, kind, name, x, y: where it is drawn in the graph's box }), for whoever needs the graph's state (tests, too). */
export function lineageNodes() {
  if (!cy) return [];
  return cy.nodes().map((node) => {
    const at = node.renderedPosition();
    return { id: node.id(), kind: node.data('kind'), name: node.data('name') || null, x: at.x, y: at.y };
  });
}

function label(node) {
  if (node.redacted) return node.kind + ' (hidden)';
  return node.kind + '\n' + (node.name || shortId(node.id));
}

/** The local datetime-local value as an ISO time; empty: now. */
function asOfTime(value) {
  if (!value) return null;
  const date = new Date(value);
  if (isNaN(date.getTime())) throw new Error('"' + value + '" is not a time');
  return date.toISOString();
}

function showDetails(node) {
  const box = document.getElementById('lineage-details');
  clear(box);
  box.append(el('h3', node.name || node.kind));
  const list = el('dl');
  const add = (term, value) => {
    if (value === undefined || value === null || value === '') return;
    list.append(el('dt', term), el('dd', value));
  };
  add('kind', node.kind);
  add('id', node.id);
  add('created', formatTime(node.createdAt));
  add('by', node.createdBy);
  add('project', node.projectId);
  add('reached', node.direction + ' at depth ' + node.depth);
  add('ended', node.endedAt ? formatTime(node.endedAt) + (node.endReason ? ' (' + node.endReason + ')' : '') : null);
  if (node.redacted) add('note', 'in a project you have no role in: only its id and kind are shown');
  box.append(list);
  const attributes = node.attributes && Object.keys(node.attributes).length ? node.attributes : null;
  if (attributes) {
    box.append(el('h4', 'attributes'));
    const table = el('table');
    for (const [key, value] of Object.entries(attributes)) table.append(row([key, formatValue(value)]));
    box.append(table);
  }
}

function draw(graph) {
  const container = document.getElementById('lineage-graph');
  nodes = graph ? graph.nodes : [];
  const elements = [];
  for (const node of nodes) elements.push({ group: 'nodes', data: { id: node.id, kind: node.kind, name: node.name || '', label: label(node), color: KIND_COLORS[node.kind] || OTHER_COLOR, root: node.depth === 0 ? 1 : 0 } });
  const ids = new Set(nodes.map((node) => node.id));
  const drawn = new Set();
  for (const edge of graph ? graph.edges : []) {
    const id = edge.from + '|' + edge.type + '|' + edge.to;
    if (!ids.has(edge.from) || !ids.has(edge.to) || drawn.has(id)) continue;
    drawn.add(id);
    elements.push({ group: 'edges', data: { id, source: edge.from, target: edge.to, label: edge.type, ended: edge.endedAt ? 1 : 0 } });
  }
  if (cy) cy.destroy();
  cy = window.cytoscape({
    container,
    elements,
    wheelSensitivity: 0.3,
    style: [
      { selector: 'node', style: { 'background-color': 'data(color)', label: 'data(label)', 'text-wrap': 'wrap', 'text-max-width': '120px', 'font-size': '9px', 'text-valign': 'bottom', 'text-margin-y': 3, width: 22, height: 22, color: '#1d2330' } },
      { selector: 'node[root = 1]', style: { 'border-width': 3, 'border-color': '#1d2330' } },
      { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#2455c3' } },
      { selector: 'edge', style: { width: 1.5, 'line-color': '#b5bcc9', 'target-arrow-color': '#b5bcc9', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier', label: 'data(label)', 'font-size': '7px', color: '#5d6678', 'text-rotation': 'autorotate' } },
      { selector: 'edge[ended = 1]', style: { 'line-style': 'dashed' } },
    ],
    layout: { name: 'breadthfirst', directed: false, roots: nodes.filter((node) => node.depth === 0).map((node) => node.id), spacingFactor: 1.1, padding: 20 },
  });
  cy.on('tap', 'node', (event) => {
    const node = nodes.find((candidate) => candidate.id === event.target.id());
    if (node) showDetails(node);
  });
  const list = document.querySelector('#lineage-nodes tbody');
  clear(list);
  for (const node of nodes) {
    const tr = row([node.kind, node.redacted ? '(hidden)' : node.name || '', node.id, formatTime(node.createdAt)]);
    tr.dataset.kind = node.kind;
    tr.addEventListener('click', () => {
      showDetails(node);
      if (cy) {
        cy.$(':selected').unselect();
        cy.getElementById(node.id).select();
      }
    });
    list.append(tr);
  }
  const legend = document.getElementById('lineage-legend');
  clear(legend);
  for (const kind of [...new Set(nodes.map((node) => node.kind))].sort()) {
    const item = el('li');
    const swatch = el('span', null, 'swatch');
    swatch.style.backgroundColor = KIND_COLORS[kind] || OTHER_COLOR;
    item.append(swatch, document.createTextNode(kind));
    legend.append(item);
  }
  const details = document.getElementById('lineage-details');
  clear(details);
  details.append(el('p', nodes.length ? 'Click a node for its details.' : 'Nothing to show.', 'muted'));
}

export async function loadVersions() {
  const select = document.getElementById('lineage-version');
  const { models } = await gql(VERSIONS);
  const chosen = select.value;
  clear(select);
  select.append(option('', 'choose…'));
  for (const model of models.nodes) for (const version of model.versions.nodes) select.append(option(version.id, model.name + ' v' + version.version));
  select.value = chosen;
}

export async function showLineage() {
  const line = document.getElementById('lineage-status');
  const id = document.getElementById('lineage-id').value.trim() || document.getElementById('lineage-version').value;
  if (!id) {
    status(line, 'Choose a model version, or give an id.');
    return;
  }
  let time;
  try {
    time = asOfTime(document.getElementById('lineage-asof').value);
  } catch (error) {
    status(line, error.message, true);
    return;
  }
  status(line, 'Loading…');
  try {
    const { lineage } = await gql(LINEAGE, { id, asOf: time ? { time } : null });
    draw(lineage);
    const more = lineage.pageInfo.hasNextPage ? ' (the first ' + lineage.nodes.length + ' shown)' : '';
    status(line, lineage.totalNodes + ' nodes, ' + lineage.totalEdges + ' edges' + more + (time ? ' as of ' + formatTime(time) : ', now') + '.');
  } catch (error) {
    draw(null);
    // The root did not exist yet at that moment: the graph is empty then, and the API says why.
    status(line, (error.code === 'NOT_FOUND' && time ? 'Nothing as of ' + formatTime(time) + ': ' : error.code + ': ') + error.message, error.code !== 'NOT_FOUND' || !time);
  }
}

export function initLineage() {
  document.getElementById('lineage-form').addEventListener('submit', (event) => {
    event.preventDefault();
    showLineage();
  });
  document.getElementById('lineage-version').addEventListener('change', () => {
    document.getElementById('lineage-id').value = '';
    showLineage();
  });
  document.getElementById('lineage-now').addEventListener('click', () => {
    document.getElementById('lineage-asof').value = '';
    showLineage();
  });
}
`;
