/** app/main.js: signs in with the token and loads every panel. */
export const MAIN_JS = String.raw`import { adoptFragmentToken, errorText, getToken, gql, setToken, status } from './api.js';
import { initLineage, lineageNodes, loadVersions } from './lineage.js';
import { initLoss, loadJobs, lossPointCount, stopLoss } from './loss.js';
import { initPromotions, loadPromotions } from './promotions.js';
import { initRuns, loadExperiments } from './runs.js';

const banner = document.getElementById('banner');

function showBanner(text) {
  banner.textContent = text || '';
  banner.hidden = !text;
}

async function signIn() {
  const who = document.getElementById('whoami');
  showBanner('');
  if (!getToken()) {
    status(who, 'not signed in: paste an API token');
    return;
  }
  try {
    const { me } = await gql('{ me { principal authenticatedBy platformAdmin } }');
    status(who, 'signed in as ' + me.principal + (me.platformAdmin ? ' (platform admin)' : ''));
  } catch (error) {
    status(who, 'not signed in', true);
    showBanner(errorText(error));
    return;
  }
  const loads = [loadVersions(), loadJobs(), loadExperiments(), loadPromotions()];
  for (const result of await Promise.allSettled(loads)) if (result.status === 'rejected') showBanner(errorText(result.reason));
}

function init() {
  adoptFragmentToken();
  initLineage();
  initLoss();
  initRuns();
  initPromotions();
  document.getElementById('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('token-input');
    setToken(input.value);
    input.value = '';
    stopLoss();
    signIn();
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    setToken('');
    stopLoss();
    signIn();
  });
  // What the page shows, for scripts and tests driving it.
  window.modeltrailConsole = Object.freeze({ lineageNodes, lossPointCount });
  signIn();
}

init();
`;
