// One self-contained HTML page: the report's tables and its figures as inline SVG. No scripts, no external
// style sheets, fonts or images: it opens offline and can be mailed as one file.
import type { Figure } from './plots.ts';
import type { Report } from './report.ts';
import { databaseText, formatCell, hoursText, type ReportTable } from './tables.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const NUMERIC = new Set(['int', 'ratio', 'share', 'speed', 'hours', 'rate', 'bytes']);

function tableHtml(t: ReportTable): string {
  // a header may break after a slash ("confirmed/reported") as well as at spaces
  const head = t.columns.map((c) => `<th${NUMERIC.has(c.kind) ? ' class="n"' : ''}>${escapeHtml(c.title).replace(/\//g, '/<wbr>')}</th>`).join('');
  const body = t.rows.length === 0
    ? `<tr><td colspan="${t.columns.length}" class="empty">nothing in this window</td></tr>`
    : t.rows.map((row) => '<tr>' + row.map((v, i) => {
      const c = t.columns[i];
      const text = escapeHtml(formatCell(v, c.kind));
      const title = c.kind === 'hash' && typeof v === 'string' ? ` title="${escapeHtml(v)}"` : '';
      return `<td${NUMERIC.has(c.kind) ? ' class="n"' : c.kind === 'text' ? ' class="t"' : ''}${title}>${text}</td>`;
    }).join('') + '</tr>').join('\n');
  const notes = t.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('');
  return `<section id="${escapeHtml(t.name)}">
<h2>${escapeHtml(t.title)}</h2>
<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>${notes ? `<ul class="notes">${notes}</ul>` : ''}
</section>`;
}

/**
 * An SVG for inlining: the namespace declarations go (HTML knows SVG), and element ids get the figure's
 * prefix so two figures' clip paths cannot collide on one page.
 */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\bid="([^"]+)"/g, (_m, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id) => `href="#${prefix}-${id}"`);
}

function figureHtml(f: Figure): string {
  return `<figure id="${escapeHtml(f.id)}">
${inlineSvg(f.svg, f.id.replace(/[^a-zA-Z0-9-]/g, '-'))}
<figcaption>${escapeHtml(f.caption)}</figcaption>
</figure>`;
}

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.meta { color: #555; margin: 0; }
table { border-collapse: collapse; font-size: .9em; }
th, td { padding: .25em .4em; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; border-bottom: 1px solid #ccc; white-space: normal; vertical-align: bottom; }
/* names and URLs wrap, so a wide table fits the page instead of being cut at its edge */
td.t { white-space: normal; overflow-wrap: anywhere; min-width: 5.5em; max-width: 22em; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.empty { color: #777; font-style: italic; }
tbody tr:hover { background: #fafafa; }
.scroll { overflow-x: auto; }
.notes { color: #555; font-size: .85em; margin-top: .4em; padding-left: 1.2em; }
figure { margin: 2em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .85em; }
nav a { margin-right: 1em; }
`;

export function renderHtml(report: Report, tables: ReportTable[], figures: Figure[]): string {
  const w = report.window;
  const windowText = w.since === null && w.until === null ? 'everything measured'
    : `${w.since ?? 'the beginning'} to ${w.until ?? 'the end'}`;
  const shown = tables.filter((t) => !t.csvOnly);
  const nav = [...shown.map((t) => [t.name, t.title.replace(/ \(.*$/, '')]), ['figures', 'Figures']]
    .map(([id, title]) => `<a href="#${escapeHtml(id)}">${escapeHtml(title)}</a>`).join(' ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>btda report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>btda report</h1>
<p class="meta">Window: ${escapeHtml(windowText)} (${hoursText(report.window.measuredHours)} measured hours in ${report.runs.length} run${report.runs.length === 1 ? '' : 's'}).
Set: ${escapeHtml(report.set ?? 'all')}. Generated ${escapeHtml(report.generatedAt)}.<br>
Countries: ${escapeHtml(databaseText(report.databases.country))}. Networks: ${escapeHtml(databaseText(report.databases.network))}.
${report.databases.network?.name.includes('DB-IP') ? 'IP to ASN data by DB-IP (db-ip.com), RouteViews (routeviews.org) and the NRO (nro.net), CC BY 4.0.' : ''}</p>
<nav>${nav}</nav>
${shown.map(tableHtml).join('\n')}
<section id="figures">
<h2>Figures</h2>
${figures.map(figureHtml).join('\n')}
</section>
</body>
</html>
`;
}
