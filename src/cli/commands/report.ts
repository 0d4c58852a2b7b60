// `btda report [--db FILE|postgres://...] [--format text|json|csv|html] [--out DIR] [--since T] [--until T] [--set LABEL]`:
// torrents, confirmed vs reported downloads, sources, outcomes, clients, countries, networks and speeds (thesis tables 5.4-5.7).
// text and json go to stdout unless --out is given; csv and html write files into --out (default report/).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Options } from 'yargs';
import { writeCsvTables, writeHtmlReport } from '../../analysis/output.ts';
import { renderFigures } from '../../analysis/plots.ts';
import { buildReport, type Report } from '../../analysis/report.ts';
import { buildSeries } from '../../analysis/series.ts';
import { databaseText, formatCell, hoursText, reportTables, type ReportTable } from '../../analysis/tables.ts';
import { parseWindow, WindowError } from '../../analysis/window.ts';
import { Geolocator } from '../../store/geolocation.ts';
import { openReader, READ_DB } from '../open-database.ts';
import { formatTable } from '../format.ts';
import { ConfigError, resolveConfig, yargsOptions } from '../options.ts';

export const REPORT_FORMATS = ['text', 'json', 'csv', 'html'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];
const DEFAULT_OUT = 'report';

export function reportOptions(): Record<string, Options> {
  return {
    ...yargsOptions(['db', 'setLabel', 'geoipDb'], { setLabel: 'only the torrents of this set', db: READ_DB }),
    format: { requiresArg: true, choices: REPORT_FORMATS, default: 'text', describe: 'output format' },
    out: { requiresArg: true, describe: `folder for the output files (csv and html: default ${DEFAULT_OUT}/; text and json: stdout)` },
    since: { requiresArg: true, describe: 'only what happened at or after this date/time, e.g. 2026-11-22 or 2026-11-22T18:00 (ISO 8601, UTC unless an offset is given)' },
    until: { requiresArg: true, describe: 'only what happened before this date/time (ISO 8601, like --since)' },
  };
}

export async function reportCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv, { postgres: true });
  let window;
  try {
    window = parseWindow(argv.since, argv.until);
  } catch (err) {
    throw err instanceof WindowError ? new ConfigError(err.message) : err;
  }
  const format = (argv.format ?? 'text') as ReportFormat;
  const out = typeof argv.out === 'string' && argv.out !== '' ? argv.out : undefined;
  // countries of peers stored without one, and every peer's network, are looked up now (offline databases)
  const geo = await Geolocator.open(config.geoipDb, { networks: true });
  const opts = { window, setLabel: config.setLabel ?? null, geo };
  const db = await openReader(config.db);
  try {
    const report = await buildReport(db, opts);
    const tables = reportTables(report);
    const print = (line: string) => process.stdout.write(line + '\n');
    switch (format) {
      case 'text':
      case 'json': {
        const text = format === 'json' ? JSON.stringify(report, null, 2) + '\n' : reportText(report, tables);
        if (out === undefined) process.stdout.write(text);
        else {
          mkdirSync(out, { recursive: true });
          const path = join(out, `report.${format === 'json' ? 'json' : 'txt'}`);
          writeFileSync(path, text);
          print(`wrote ${path}`);
        }
        break;
      }
      case 'csv':
        for (const path of writeCsvTables(tables, out ?? DEFAULT_OUT)) print(`wrote ${path}`);
        break;
      case 'html': {
        const figures = await renderFigures(report, await buildSeries(db, report, opts));
        for (const path of writeHtmlReport(report, tables, figures, out ?? DEFAULT_OUT)) print(`wrote ${path}`);
        break;
      }
    }
    return 0;
  } finally {
    await db.close();
  }
}

/** The report as readable text tables. */
export function reportText(report: Report, tables: ReportTable[]): string {
  const w = report.window;
  const windowText = w.since === null && w.until === null ? 'everything measured' : `${w.since ?? 'the beginning'} .. ${w.until ?? 'the end'}`;
  const lines = [
    `btda report — window: ${windowText} (${hoursText(w.measuredHours)} measured hours in ${report.runs.length} run${report.runs.length === 1 ? '' : 's'}), ` +
      `set: ${report.set ?? 'all'}, generated ${report.generatedAt}`,
    `country database: ${databaseText(report.databases.country)}; network database: ${databaseText(report.databases.network)}`,
  ];
  for (const t of tables) {
    if (t.csvOnly) continue;
    lines.push('', `== ${t.title} ==`);
    if (t.rows.length === 0) lines.push('(nothing in this window)');
    else {
      lines.push(formatTable(t.columns.map((c) => c.title), t.rows.map((r) => r.map((v, i) => formatCell(v, t.columns[i].kind)))));
    }
    for (const n of t.notes) lines.push(`  * ${n}`);
  }
  return lines.join('\n') + '\n';
}
