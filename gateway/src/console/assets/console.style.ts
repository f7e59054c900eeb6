/** The console's style sheet. */
export const CONSOLE_CSS = String.raw`:root { --fg: #1d2330; --muted: #5d6678; --line: #d8dce4; --bg: #f6f7f9; --accent: #2455c3; --bad: #b3261e; --good: #1e7b34; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: 0.6rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.2rem; margin: 0; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem; padding: 1rem 1.2rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 1rem 1rem; min-width: 0; }
section h2 { font-size: 1.05rem; margin: 0.3rem 0 0.6rem; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem; margin-bottom: 0.4rem; }
.muted { color: var(--muted); font-size: 0.9rem; }
.error { color: var(--bad); }
#banner { margin: 0.6rem 1.2rem 0; padding: 0.5rem 0.8rem; border: 1px solid var(--bad); border-radius: 4px; background: #fdecea; }
input, select, button { font: inherit; font-size: 0.9rem; }
button { cursor: pointer; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; margin-top: 0.4rem; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: 0.25rem 0.4rem; vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--bg); }
#runs-table td:nth-child(-n+3), #promotions-table td:nth-child(-n+2) { white-space: nowrap; }
.lineage-body { display: flex; gap: 0.6rem; }
.__________cytoscape_container { position: relative; }
#lineage-graph { position: relative; flex: 1; height: 420px; border: 1px solid var(--line); border-radius: 4px; min-width: 0; }
#lineage-details { width: 260px; font-size: 0.85rem; overflow: auto; max-height: 420px; }
#lineage-details dl { display: grid; grid-template-columns: auto 1fr; gap: 0.15rem 0.5rem; margin: 0; }
#lineage-details dt { color: var(--muted); }
#lineage-details dd { margin: 0; overflow-wrap: anywhere; }
#lineage-details pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.8rem; background: var(--bg); padding: 0.3rem; }
.legend { display: flex; flex-wrap: wrap; gap: 0.3rem 0.8rem; list-style: none; padding: 0; margin: 0.4rem 0; font-size: 0.8rem; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 50%; margin-right: 0.25rem; vertical-align: middle; }
#loss-chart { min-height: 300px; }
.passed { color: var(--good); }
.failed { color: var(--bad); }
.row-error { color: var(--bad); font-size: 0.85rem; margin: 0.2rem 0 0; }
td input[type="text"] { width: 100%; box-sizing: border-box; }
td button { margin: 0.15rem 0.2rem 0 0; }
`;
