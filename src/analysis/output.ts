// Writes a report's files: CSV tables, or the HTML page with its figures as SVG files next to it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.ts';
import type { Figure } from './plots.ts';
import type { Report } from './report.ts';
import { tableCsv, type ReportTable } from './tables.ts';

/** One CSV file per table (`sources.csv`, `outcomes.csv`, ...). Returns the paths written. */
export function writeCsvTables(tables: ReportTable[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return tables.map((t) => {
    const path = join(outDir, `${t.name}.csv`);
    writeFileSync(path, tableCsv(t));
    return path;
  });
}

/** `report.html` (self-contained) plus each figure as its own .svg file. Returns the paths written. */
export function writeHtmlReport(report: Report, tables: ReportTable[], figures: Figure[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const paths: string[] = [];
  for (const f of figures) {
    const path = join(outDir, `${f.id}.svg`);
    writeFileSync(path, f.svg.startsWith('<?xml') ? f.svg : `<?xml version="1.0" encoding="UTF-8"?>\n${f.svg}\n`);
    paths.push(path);
  }
  const html = join(outDir, 'report.html');
  writeFileSync(html, renderHtml(report, tables, figures));
  return [html, ...paths];
}
