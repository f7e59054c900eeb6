/** The console's page: structure only; its scripts and style are files of their own (the Content-Security-Policy allows no inline script or style). */
export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ModelTrail console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="vendor/uPlot.min.css">
<!-- The id tells cytoscape its container rule is here: it would otherwise add an inline <style>, which the policy refuses. -->
<link rel="stylesheet" href="console.css" id="__________cytoscape_stylesheet">
<script src="vendor/cytoscape.min.js" defer></script>
<script src="vendor/uPlot.iife.min.js" defer></script>
<script src="vendor/graphql-ws.min.js" defer></script>
<script type="module" src="app/main.js"></script>
</head>
<body>
<header>
  <h1>ModelTrail</h1>
  <form id="token-form" autocomplete="off">
    <label for="token-input">API token</label>
    <input id="token-input" type="password" placeholder="paste an API token" spellcheck="false">
    <button type="submit">Use</button>
    <button type="button" id="token-forget">Forget</button>
  </form>
  <p id="whoami" class="muted">not signed in</p>
</header>
<p id="banner" class="error" role="alert" hidden></p>
<main>
  <section id="lineage" aria-labelledby="lineage-title">
    <h2 id="lineage-title">Lineage</h2>
    <form id="lineage-form" class="toolbar" autocomplete="off">
      <label for="lineage-version">Model version</label>
      <select id="lineage-version"><option value="">choose…</option></select>
      <label for="lineage-id">or id</label>
      <input id="lineage-id" type="text" size="38" spellcheck="false" placeholder="any entity id">
      <label for="lineage-asof">as of</label>
      <input id="lineage-asof" type="datetime-local" step="1">
      <button type="submit">Show</button>
      <button type="button" id="lineage-now">Now</button>
    </form>
    <p id="lineage-status" class="muted" role="status"></p>
    <div class="lineage-body">
      <div id="lineage-graph" aria-label="lineage graph"></div>
      <aside id="lineage-details" aria-live="polite"><p class="muted">Click a node for its details.</p></aside>
    </div>
    <ul id="lineage-legend" class="legend"></ul>
    <details>
      <summary>Nodes as a list</summary>
      <table id="lineage-nodes"><thead><tr><th>kind</th><th>name</th><th>id</th><th>created</th></tr></thead><tbody></tbody></table>
    </details>
  </section>

  <section id="job" aria-labelledby="job-title">
    <h2 id="job-title">Live job</h2>
    <form id="job-form" class="toolbar" autocomplete="off">
      <label for="job-select">Job</label>
      <select id="job-select"><option value="">choose…</option></select>
      <label for="job-id">or id</label>
      <input id="job-id" type="text" size="38" spellcheck="false">
      <button type="submit">Follow</button>
      <button type="button" id="job-refresh">Refresh list</button>
    </form>
    <p id="job-status" class="muted" role="status"></p>
    <div id="loss-chart" aria-label="loss chart"></div>
    <p class="muted">Points: <span id="loss-count">0</span></p>
  </section>

  <section id="runs" aria-labelledby="runs-title">
    <h2 id="runs-title">Runs</h2>
    <form id="runs-form" class="toolbar" autocomplete="off">
      <label for="experiment-select">Experiment</label>
      <select id="experiment-select"><option value="">choose…</option></select>
      <button type="button" id="compare-button" disabled>Compare selected</button>
    </form>
    <p id="runs-status" class="muted" role="status"></p>
    <table id="runs-table"><thead><tr><th></th><th>run</th><th>status</th><th>started</th><th>params</th><th>latest metrics</th></tr></thead><tbody></tbody></table>
    <div id="compare" hidden>
      <h3>Compared</h3>
      <table id="compare-params"><thead></thead><tbody></tbody></table>
      <table id="compare-metrics"><thead></thead><tbody></tbody></table>
    </div>
  </section>

  <section id="promotions" aria-labelledby="promotions-title">
    <h2 id="promotions-title">Promotion queue</h2>
    <div class="toolbar"><button type="button" id="promotions-refresh">Refresh</button></div>
    <p id="promotions-status" class="muted" role="status"></p>
    <table id="promotions-table"><thead><tr><th>model</th><th>alias</th><th>requested</th><th>justification</th><th>gates</th><th>decision</th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`;
