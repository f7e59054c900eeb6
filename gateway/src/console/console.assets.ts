import { API_JS } from './assets/api.script';
import { CONSOLE_CSS } from './assets/console.style';
import { INDEX_HTML } from './assets/index.page';
import { LINEAGE_JS } from './assets/lineage.script';
import { LOSS_JS } from './assets/loss.script';
import { MAIN_JS } from './assets/main.script';
import { PROMOTIONS_JS } from './assets/promotions.script';
import { RUNS_JS } from './assets/runs.script';

/** One of the console's own files, by its path under /console. */
export interface ConsoleAsset {
  path: string;
  type: string;
  body: string;
}

const JS = 'text/javascript; charset=utf-8';

/**
 * The console's own files. They are TypeScript string modules so that `tsc` carries them into
 * dist/ with the rest of the gateway (no copy step); the scripts are ES modules importing each other
 * by relative path.
 */
export const CONSOLE_ASSETS: readonly ConsoleAsset[] = [
  { path: '/index.html', type: 'text/html; charset=utf-8', body: INDEX_HTML },
  { path: '/console.css', type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
  { path: '/app/api.js', type: JS, body: API_JS },
  { path: '/app/lineage.js', type: JS, body: LINEAGE_JS },
  { path: '/app/loss.js', type: JS, body: LOSS_JS },
  { path: '/app/runs.js', type: JS, body: RUNS_JS },
  { path: '/app/promotions.js', type: JS, body: PROMOTIONS_JS },
  { path: '/app/main.js', type: JS, body: MAIN_JS },
];
