/** app/loss.js: a job's loss as it trains, live over graphql-ws (jobProgressBatches), drawn with uPlot. */
export const LOSS_JS = String.raw`import { clear, errorText, formatTime, gql, option, shortId, status, subscribe } from './api.js';

const JOBS = '{ jobs(first: 50) { nodes { id status queuedAt experiment { name } } } }';
const PROGRESS = 'subscription($jobId: ID!) { jobProgressBatches(jobId: $jobId, replayLast: 10000) { items { __typename seq ' +
  '... on JobMetric { key value step } ... on JobStatusChange { status } } } }';
const COLORS = ['#2455c3', '#eb5757', '#27ae60', '#9b51e0', '#f2994a', '#2d9cdb'];
/** Metrics whose name says loss are charted; a job that logs none has all its metrics charted. */
const LOSS = /loss/i;

let unsubscribe = null;
let chart = null;
let chartKeys = [];
/** key -> Map(step -> value) */
let series = new Map();
let points = 0;
let pending = false;

/** How many metric points the chart holds. */
export function lossPointCount() {
  return points;
}

function chartedKeys() {
  const keys = [...series.keys()].sort();
  const losses = keys.filter((key) => LOSS.test(key));
  return losses.length ? losses : keys;
}

function aligned(keys) {
  const steps = [...new Set(keys.flatMap((key) => [...series.get(key).keys()]))].sort((a, b) => a - b);
  return [steps, ...keys.map((key) => steps.map((step) => (series.get(key).has(step) ? series.get(key).get(step) : null)))];
}

function render() {
  pending = false;
  const box = document.getElementById('loss-chart');
  const keys = chartedKeys();
  points = keys.reduce((sum, key) => sum + series.get(key).size, 0);
  document.getElementById('loss-count').textContent = String(points);
  if (!keys.length) return;
  const data = aligned(keys);
  if (chart && keys.join('\n') === chartKeys.join('\n')) {
    chart.setData(data);
    return;
  }
  if (chart) chart.destroy();
  chartKeys = keys;
  chart = new window.uPlot(
    {
      width: Math.max(box.clientWidth, 320),
      height: 280,
      scales: { x: { time: false } },
      axes: [{ label: 'step' }, { label: 'value' }],
      series: [{ label: 'step' }, ...keys.map((key, index) => ({ label: key, stroke: COLORS[index % COLORS.length], width: 1.5, spanGaps: true, points: { show: false } }))],
    },
    data,
    box,
  );
}

function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(render);
}

function stop() {
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  if (chart) chart.destroy();
  chart = null;
  chartKeys = [];
  series = new Map();
  points = 0;
  clear(document.getElementById('loss-chart'));
  document.getElementById('loss-count').textContent = '0';
}

export function follow(jobId) {
  stop();
  const line = document.getElementById('job-status');
  let jobStatus = 'connecting';
  status(line, 'Job ' + shortId(jobId) + ': connecting…');
  unsubscribe = subscribe(PROGRESS, { jobId }, {
    next: (message) => {
      if (message.errors) {
        status(line, 'Job ' + shortId(jobId) + ': ' + errorText(message.errors), true);
        return;
      }
      for (const item of message.data.jobProgressBatches.items) {
        if (item.__typename === 'JobMetric') {
          if (!series.has(item.key)) series.set(item.key, new Map());
          series.get(item.key).set(item.step, item.value);
        } else if (item.__typename === 'JobStatusChange') {
          jobStatus = item.status;
        }
      }
      status(line, 'Job ' + shortId(jobId) + ': ' + jobStatus);
      schedule();
    },
    error: (error) => status(line, 'Job ' + shortId(jobId) + ': ' + errorText(error), true),
    complete: () => status(line, 'Job ' + shortId(jobId) + ': ' + jobStatus + ' (stream ended)'),
  });
}

export async function loadJobs() {
  const select = document.getElementById('job-select');
  const { jobs } = await gql(JOBS);
  const chosen = select.value;
  clear(select);
  select.append(option('', 'choose…'));
  for (const job of jobs.nodes) select.append(option(job.id, job.experiment.name + ' · ' + shortId(job.id) + ' · ' + job.status + ' · ' + formatTime(job.queuedAt)));
  select.value = chosen;
}

export function initLoss() {
  document.getElementById('job-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = document.getElementById('job-id').value.trim() || document.getElementById('job-select').value;
    if (id) follow(id);
    else status(document.getElementById('job-status'), 'Choose a job, or give its id.');
  });
  document.getElementById('job-select').addEventListener('change', (event) => {
    document.getElementById('job-id').value = '';
    if (event.target.value) follow(event.target.value);
  });
  document.getElementById('job-refresh').addEventListener('click', () => loadJobs().catch((error) => status(document.getElementById('job-status'), errorText(error), true)));
}

export function stopLoss() {
  stop();
}
`;
