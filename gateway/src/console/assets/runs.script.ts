/** app/runs.js: the runs of an experiment, and two or more of them compared side by side. */
export const RUNS_JS = String.raw`import { clear, el, errorText, formatTime, formatValue, gql, option, row, shortId, status } from './api.js';

const EXPERIMENTS = '{ experiments(first: 200) { nodes { id name project { name } } } }';
const RUNS = 'query($e: ID!) { runs(filter: { experimentId: $e }, first: 200) { nodes { id status startedAt params latestMetrics { key value } } } }';
const COMPARE = 'query($ids: [ID!]!) { compareRuns(ids: $ids, maxPointsPerSeries: 2) { runs { id status } ' +
  'differingParams { key values { run { id } value } } commonParams { key value } ' +
  'metrics { key series { run { id } count latest { value step } } } } }';

const selected = new Set();

function paramsText(params) {
  return Object.entries(params || {}).map(([key, value]) => key + '=' + formatValue(value)).join(', ');
}

function metricsText(metrics) {
  return (metrics || []).map((metric) => metric.key + '=' + formatValue(metric.value)).join(', ');
}

function updateCompareButton() {
  const button = document.getElementById('compare-button');
  button.disabled = selected.size < 2;
  button.textContent = 'Compare selected (' + selected.size + ')';
}

export async function loadExperiments() {
  const select = document.getElementById('experiment-select');
  const { experiments } = await gql(EXPERIMENTS);
  const chosen = select.value;
  clear(select);
  select.append(option('', 'choose…'));
  for (const experiment of experiments.nodes) select.append(option(experiment.id, experiment.project.name + ' / ' + experiment.name));
  select.value = chosen;
}

export async function loadRuns(experimentId) {
  const body = document.querySelector('#runs-table tbody');
  const line = document.getElementById('runs-status');
  selected.clear();
  updateCompareButton();
  document.getElementById('compare').hidden = true;
  clear(body);
  if (!experimentId) return;
  status(line, 'Loading…');
  try {
    const { runs } = await gql(RUNS, { e: experimentId });
    for (const run of runs.nodes) {
      const tick = document.createElement('input');
      tick.type = 'checkbox';
      tick.value = run.id;
      tick.setAttribute('aria-label', 'select run ' + run.id);
      tick.addEventListener('change', () => {
        if (tick.checked) selected.add(run.id);
        else selected.delete(run.id);
        updateCompareButton();
      });
      const tr = row([tick, shortId(run.id), run.status, formatTime(run.startedAt), paramsText(run.params), metricsText(run.latestMetrics)]);
      tr.dataset.runId = run.id;
      body.append(tr);
    }
    status(line, runs.nodes.length + ' runs. Tick two or more to compare them.');
  } catch (error) {
    status(line, errorText(error), true);
  }
}

export async function compare() {
  const line = document.getElementById('runs-status');
  const ids = [...selected];
  if (ids.length < 2) return;
  status(line, 'Comparing…');
  try {
    const { compareRuns } = await gql(COMPARE, { ids });
    const runs = compareRuns.runs;
    const head = ['', ...runs.map((run) => shortId(run.id))];

    const params = document.getElementById('compare-params');
    clear(params.tHead);
    clear(params.tBodies[0]);
    params.tHead.append(row(['parameter', ...head.slice(1)], true));
    for (const param of compareRuns.differingParams) {
      const byRun = new Map(param.values.map((value) => [value.run.id, value.value]));
      const tr = row([param.key, ...runs.map((run) => formatValue(byRun.get(run.id)))]);
      tr.className = 'differs';
      params.tBodies[0].append(tr);
    }
    for (const param of compareRuns.commonParams) params.tBodies[0].append(row([param.key, ...runs.map(() => formatValue(param.value))]));

    const metrics = document.getElementById('compare-metrics');
    clear(metrics.tHead);
    clear(metrics.tBodies[0]);
    metrics.tHead.append(row(['metric (latest)', ...head.slice(1)], true));
    for (const metric of compareRuns.metrics) {
      const byRun = new Map(metric.series.map((series) => [series.run.id, series]));
      metrics.tBodies[0].append(
        row([
          metric.key,
          ...runs.map((run) => {
            const series = byRun.get(run.id);
            return series && series.latest ? formatValue(series.latest.value) + ' (step ' + series.latest.step + ')' : '—';
          }),
        ]),
      );
    }
    document.getElementById('compare').hidden = false;
    status(line, runs.length + ' runs compared.');
  } catch (error) {
    status(line, errorText(error), true);
  }
}

export function initRuns() {
  document.getElementById('experiment-select').addEventListener('change', (event) => loadRuns(event.target.value));
  document.getElementById('compare-button').addEventListener('click', () => compare());
  document.getElementById('runs-form').addEventListener('submit', (event) => event.preventDefault());
  updateCompareButton();
}

`;
