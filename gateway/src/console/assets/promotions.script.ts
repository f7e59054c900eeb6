/** app/promotions.js: pending promotion requests, approved or rejected from the page (the API decides who may). */
export const PROMOTIONS_JS = String.raw`import { clear, el, errorText, formatTime, gql, row, status } from './api.js';

const PENDING = '{ promotionRequests(filter: { status: PENDING }, first: 100) { nodes { id alias justification requestedBy requestedAt gatesPassed ' +
  'gates { gate passed detail } model { name } modelVersion { id version } } } }';
const APPROVE = 'mutation($id: ID!, $comment: String) { approvePromotion(input: { requestId: $id, comment: $comment }) { id status decidedBy } }';
const REJECT = 'mutation($id: ID!, $reason: String!) { rejectPromotion(input: { requestId: $id, reason: $reason }) { id status decidedBy } }';

function gatesCell(request) {
  const list = el('ul');
  for (const gate of request.gates) {
    const item = el('li', (gate.passed ? '✔ ' : '✘ ') + gate.gate + (gate.detail ? ': ' + gate.detail : ''), gate.passed ? 'passed' : 'failed');
    list.append(item);
  }
  return list;
}

function decisionCell(request) {
  const box = el('div');
  const note = document.createElement('input');
  note.type = 'text';
  note.placeholder = 'comment, or the reason to reject';
  note.setAttribute('aria-label', 'note for ' + request.id);
  const approve = el('button', 'Approve');
  approve.type = 'button';
  approve.dataset.action = 'approve';
  const reject = el('button', 'Reject');
  reject.type = 'button';
  reject.dataset.action = 'reject';
  const problem = el('p', '', 'row-error');
  problem.setAttribute('role', 'alert');
  const decide = async (mutation, variables) => {
    approve.disabled = reject.disabled = true;
    problem.textContent = '';
    try {
      await gql(mutation, variables);
      await loadPromotions();
    } catch (error) {
      problem.textContent = errorText(error);
      approve.disabled = reject.disabled = false;
    }
  };
  approve.addEventListener('click', () => decide(APPROVE, { id: request.id, comment: note.value.trim() || null }));
  reject.addEventListener('click', () => decide(REJECT, { id: request.id, reason: note.value.trim() }));
  box.append(note, approve, reject, problem);
  return box;
}

export async function loadPromotions() {
  const body = document.querySelector('#promotions-table tbody');
  const line = document.getElementById('promotions-status');
  try {
    const { promotionRequests } = await gql(PENDING);
    clear(body);
    for (const request of promotionRequests.nodes) {
      const tr = row([
        request.model.name + ' v' + request.modelVersion.version,
        request.alias,
        request.requestedBy + ', ' + formatTime(request.requestedAt),
        request.justification,
        gatesCell(request),
        decisionCell(request),
      ]);
      tr.dataset.requestId = request.id;
      body.append(tr);
    }
    status(line, promotionRequests.nodes.length ? promotionRequests.nodes.length + ' pending.' : 'Nothing pending.');
  } catch (error) {
    status(line, errorText(error), true);
  }
}

export function initPromotions() {
  document.getElementById('promotions-refresh').addEventListener('click', () => loadPromotions());
}
`;
