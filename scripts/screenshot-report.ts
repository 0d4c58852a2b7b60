// Looks at `btda report --format html` as a person would: renders the report of a database, opens it in
// headless Chromium (Debian's `chromium`, no browser download) and saves PNG screenshots: the whole page
// and each figure and wide table on its own, at the width of a laptop screen.
//
//   node --import tsx scripts/screenshot-report.ts --db demo.sqlite [--out shots/] [--width 1400]
//        [--chromium /usr/bin/chromium] [--since T] [--until T]
//   node --import tsx scripts/screenshot-report.ts --fixture-48h --out shots/   (the README's pictures: the
//        synthetic 48-hour database of test/analysis/fixture-48h.ts, public addresses, built in a temp folder)
//
// The page loads nothing from elsewhere; the browser is started with the network features off anyway.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { writeHtmlReport } from '../src/analysis/output.ts';
import { renderFigures } from '../src/analysis/plots.ts';
import { buildReport } from '../src/analysis/report.ts';
import { buildSeries } from '../src/analysis/series.ts';
import { reportTables } from '../src/analysis/tables.ts';
import { parseWindow } from '../src/analysis/window.ts';
import { Database } from '../src/store/database.ts';
import { Geolocator } from '../src/store/geolocation.ts';

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-default-apps', '--disable-extensions', '--disable-sync', '--no-first-run', '--metrics-recording-only',
  '--disable-features=Translate,OptimizationHints,MediaRouter', '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=<-loopback>',
];

/** The PNG files written, and the sections whose table is wider than the page (the reader must scroll it). */
export interface Screenshots { written: string[]; cut: string[] }

export async function screenshotReport(opts: { db: string; out: string; width?: number; chromiumPath?: string; since?: string; until?: string }): Promise<Screenshots> {
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const window = parseWindow(opts.since, opts.until);
  const db = Database.open(opts.db, { readonly: true });
  let html: string;
  try {
    const geo = await Geolocator.open('', { networks: true });
    const report = await buildReport(db, { window, geo });
    const figures = await renderFigures(report, await buildSeries(db, report, { window }));
    [html] = writeHtmlReport(report, reportTables(report), figures, join(out, 'html'));
  } finally {
    db.close();
  }
  const browser = await chromium.launch({ executablePath: opts.chromiumPath ?? '/usr/bin/chromium', args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
  const written: string[] = [];
  let cut: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1400, height: 900 } });
    await page.goto(`file://${html}`, { timeout: 60_000 });
    const full = join(out, 'report-full.png');
    await page.screenshot({ path: full, fullPage: true });
    written.push(full);
    // what a reader sees on opening the page: the header, the databases and the first tables
    const top = join(out, 'report-top.png');
    await page.screenshot({ path: top });
    written.push(top);
    // every figure and every table section on its own: readable at full resolution
    for (const id of await page.$$eval('figure[id], section[id]', (els) => els.map((e) => e.id))) {
      if (id === 'figures') continue;
      const path = join(out, `${id}.png`);
      await page.locator(`[id="${id}"]`).screenshot({ path });
      written.push(path);
    }
    // a table wider than the page would be cut: report it
    cut = await page.$$eval('.scroll', (els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.parentElement?.id ?? '?'));
  } finally {
    await browser.close();
  }
  return { written, cut };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' }, out: { type: 'string', default: 'shots' }, width: { type: 'string', default: '1400' },
      chromium: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, 'fixture-48h': { type: 'boolean' },
    },
  });
  if (!values.db === !values['fixture-48h']) {
    console.error('usage: node --import tsx scripts/screenshot-report.ts --db FILE | --fixture-48h [--out DIR] [--width PX] [--chromium PATH]');
    process.exit(2);
  }
  const db = values.db ?? (await import('../test/analysis/fixture-48h.ts').then((m) => m.build48hFixture())).path;
  const { written, cut } = await screenshotReport({
    db, out: values.out!, width: Number(values.width), chromiumPath: values.chromium, since: values.since, until: values.until,
  });
  for (const p of written) console.log(`wrote ${p}`);
  if (cut.length > 0) console.warn(`tables wider than the page at ${values.width} px (they scroll): ${cut.join(', ')}`);
}
