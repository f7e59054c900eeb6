import type { AuditReport, Claim, Evidence } from './audit.types';

/**
 * Readable documents of an audit report: Markdown and a self-contained HTML page (inline CSS,
 * no scripts, no external assets). Every string from the report is escaped: event data is
 * written by users (names, descriptions, justifications) and must not become markup.
 * The JSON report stays the document of record: only it can be verified.
 */

const cite = (e: Evidence): string => `${e.stream}@${e.revision}, position ${e.position}`;

function verifyCommand(report: AuditReport): string {
  return `npm run verify -- report.json --key '${report.log.verifierKey}'`;
}

// ---- Markdown ----

/**
 * Escapes text for Markdown: HTML-significant characters become entities, inline Markdown syntax
 * (emphasis, code, links, table cells, strikethrough) is backslash-escaped. Text is only ever
 * written after a list marker or heading, so line-start syntax (#, -, 1.) needs no escape.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

const codeSpan = (text: string): string => {
  const clean = text.replace(/\r?\n/g, ' ');
  const fence = clean.includes('`') ? '``' : '`';
  return `${fence}${fence.length > 1 ? ' ' : ''}${clean}${fence.length > 1 ? ' ' : ''}${fence}`;
};

function mdClaim(c: Claim): string {
  const sources = c.evidence.map((e) => `${codeSpan(cite(e))} ${escapeMarkdown(e.type)}`).join('; ');
  return `- ${escapeMarkdown(c.text)}${sources ? `  \n  <sub>Evidence: ${sources}</sub>` : '  \n  <sub>Evidence: none recorded</sub>'}`;
}

export function renderMarkdown(report: AuditReport): string {
  const s = report.subject;
  const lines: string[] = [];
  lines.push(`# Audit report: ${escapeMarkdown(s.modelName ?? s.modelId ?? 'model')} version ${s.version ?? '?'}`);
  lines.push('');
  lines.push(`- Model version: ${codeSpan(s.modelVersionId)}`);
  lines.push(`- Project: ${escapeMarkdown(s.projectName ?? '(unknown)')} (${codeSpan(s.projectId ?? '?')})`);
  lines.push(`- Generated: ${escapeMarkdown(report.generatedAt)}, as of store position ${report.position}`);
  lines.push(`- Log: ${escapeMarkdown(report.log.origin)}, checkpoint of ${report.checkpoint.treeSize} leaves, root ${codeSpan(report.checkpoint.rootHash)}`);
  lines.push(`- Digest (SHA-256): ${codeSpan(report.digest.value)}`);
  lines.push('');
  const gaps = report.sections.reduce((n, x) => n + x.gaps.length, 0);
  lines.push(`**${gaps} gap(s)** across ${report.sections.length} sections; ${report.events.length} events cited, each with an inclusion proof.`);
  lines.push('');
  for (const section of report.sections) {
    lines.push(`## ${escapeMarkdown(section.title)}`);
    lines.push('');
    lines.push(`*Model card:* ${section.modelCard.map(escapeMarkdown).join(', ')}  `);
    lines.push(`*EU AI Act Annex IV:* ${section.annexIV.map((p) => `point ${escapeMarkdown(p)}`).join(', ')}`);
    lines.push('');
    lines.push('### Claims');
    lines.push('');
    lines.push(...(section.claims.length ? section.claims.map(mdClaim) : ['- (none)']));
    lines.push('');
    lines.push('### Gaps');
    lines.push('');
    lines.push(...(section.gaps.length ? section.gaps.map(mdClaim) : ['- None found.']));
    lines.push('');
  }
  lines.push('## Not covered by this report');
  lines.push('');
  lines.push(`The event store holds no evidence for these; they need documents of their own.`);
  lines.push('');
  lines.push(`- Model card: ${report.notCovered.modelCard.map(escapeMarkdown).join(', ') || 'none'}`);
  lines.push(`- EU AI Act Annex IV: ${report.notCovered.annexIV.map((p) => `${escapeMarkdown(p)} (${escapeMarkdown(summaryOf(report, p))})`).join('; ') || 'none'}`);
  lines.push('');
  lines.push('## Cited events');
  lines.push('');
  lines.push('| Position | Stream@revision | Type | Actor | Occurred | Leaf | Hash |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const e of report.events) {
    lines.push(`| ${e.position} | ${codeSpan(`${e.stream}@${e.revision}`)} | ${escapeMarkdown(e.type)} | ${escapeMarkdown(e.metadata.actor)} | ${escapeMarkdown(e.metadata.occurredAt)} | ${e.leafIndex} | ${codeSpan(e.metadata.hash.slice(0, 16))}… |`);
  }
  lines.push('');
  lines.push('## How to verify');
  lines.push('');
  lines.push('Keep the JSON report (this document is a rendering of it). With the verifier key obtained from the log operator:');
  lines.push('');
  lines.push('```sh');
  lines.push(verifyCommand(report).replace(/`/g, "'"));
  lines.push('```');
  lines.push('');
  lines.push(
    `The verifier checks the report's digest (${escapeMarkdown(report.digest.rule)}), the checkpoint's signature, each event's hash, leaf hash and inclusion proof against the signed root, every citation, and the hash chain of each stream. Without --key it uses the key in the report, which proves integrity only, not origin.`,
  );
  lines.push('');
  return lines.join('\n');
}

// ---- HTML ----

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const h = escapeHtml;

function htmlClaim(c: Claim, kind: 'claim' | 'gap'): string {
  const sources = c.evidence.map((e) => `<li><a href="#ev-${h(e.eventId)}"><code>${h(cite(e))}</code></a> ${h(e.type)}</li>`).join('');
  return `<li class="${kind}"><p>${h(c.text)}</p><ul class="evidence">${sources || '<li>no event recorded</li>'}</ul></li>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
.tags{color:#555;font-size:.9em}.gap{color:#8a1c00}.claim p,.gap p{margin:.2rem 0}
ul.evidence{font-size:.8em;color:#555;margin:0 0 .6rem}
table{border-collapse:collapse;font-size:.8em;width:100%}td,th{border:1px solid #ddd;padding:.2rem .4rem;text-align:left;vertical-align:top}
pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}`;

export function renderHtml(report: AuditReport): string {
  const s = report.subject;
  const title = `Audit report: ${s.modelName ?? s.modelId ?? 'model'} version ${s.version ?? '?'}`;
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  parts.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  parts.push(`<title>${h(title)}</title><style>${STYLE}</style></head><body>`);
  parts.push(`<h1>${h(title)}</h1>`);
  parts.push('<dl>');
  parts.push(`<dt>Model version</dt><dd><code>${h(s.modelVersionId)}</code></dd>`);
  parts.push(`<dt>Project</dt><dd>${h(s.projectName ?? '(unknown)')} (<code>${h(s.projectId ?? '?')}</code>)</dd>`);
  parts.push(`<dt>Generated</dt><dd>${h(report.generatedAt)}, as of store position ${report.position}</dd>`);
  parts.push(`<dt>Log</dt><dd>${h(report.log.origin)}, checkpoint of ${report.checkpoint.treeSize} leaves, root <code>${h(report.checkpoint.rootHash)}</code></dd>`);
  parts.push(`<dt>Digest (SHA-256)</dt><dd><code>${h(report.digest.value)}</code></dd>`);
  parts.push('</dl>');
  for (const section of report.sections) {
    parts.push(`<section id="section-${h(section.id)}"><h2>${h(section.title)}</h2>`);
    parts.push(`<p class="tags">Model card: ${h(section.modelCard.join(', '))}<br>EU AI Act Annex IV: ${h(section.annexIV.map((p) => `point ${p}`).join(', '))}</p>`);
    parts.push(`<h3>Claims</h3><ul>${section.claims.map((c) => htmlClaim(c, 'claim')).join('') || '<li>(none)</li>'}</ul>`);
    parts.push(`<h3>Gaps</h3><ul>${section.gaps.map((c) => htmlClaim(c, 'gap')).join('') || '<li>None found.</li>'}</ul>`);
    parts.push('</section>');
  }
  parts.push('<section id="not-covered"><h2>Not covered by this report</h2><p>The event store holds no evidence for these; they need documents of their own.</p>');
  parts.push(`<p>Model card: ${h(report.notCovered.modelCard.join(', ') || 'none')}</p><ul>`);
  for (const p of report.notCovered.annexIV) parts.push(`<li>Annex IV point ${h(p)}: ${h(summaryOf(report, p))}</li>`);
  parts.push('</ul></section>');
  parts.push('<section id="events"><h2>Cited events</h2><table><thead><tr><th>Position</th><th>Stream@revision</th><th>Type</th><th>Actor</th><th>Occurred</th><th>Leaf</th><th>Hash</th></tr></thead><tbody>');
  for (const e of report.events) {
    parts.push(
      `<tr id="ev-${h(e.id)}"><td>${e.position}</td><td><code>${h(`${e.stream}@${e.revision}`)}</code></td><td>${h(e.type)}</td><td>${h(e.metadata.actor)}</td><td>${h(e.metadata.occurredAt)}</td><td>${e.leafIndex}</td><td><code>${h(e.metadata.hash)}</code></td></tr>`,
    );
  }
  parts.push('</tbody></table></section>');
  parts.push('<section id="verify"><h2>How to verify</h2><p>Keep the JSON report (this page is a rendering of it). With the verifier key obtained from the log operator:</p>');
  parts.push(`<pre><code>${h(verifyCommand(report))}</code></pre>`);
  parts.push(
    `<p>The verifier checks the report's digest (${h(report.digest.rule)}), the checkpoint's signature, each event's hash, leaf hash and inclusion proof against the signed root, every citation, and the hash chain of each stream. Without <code>--key</code> it uses the key in the report, which proves integrity only, not origin.</p></section>`,
  );
  parts.push('</body></html>');
  return parts.join('\n');
}

function summaryOf(report: AuditReport, point: string): string {
  return report.frameworks.annexIV.points.find((p) => p.point === point)?.summary ?? '';
}
