// The HTML report in a real browser (headless Chromium through scripts/screenshot-report.ts), on the synthetic
// 48-hour database and the one-day fixture: every table and figure is photographed, and no table is wider than
// a 1,400-px page (a reader would have to scroll it, a screenshot cuts it). Skipped where Chromium is missing.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { screenshotReport } from '../../scripts/screenshot-report.ts';
import { build48hFixture } from './fixture-48h.ts';
import { buildFixture } from './fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no ${CHROMIUM}`;

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(path: string): { width: number; height: number } {
  const b = readFileSync(path);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', path);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

for (const [name, build] of [['48-hour', build48hFixture], ['one-day', buildFixture]] as const) {
  test(`screenshots of the ${name} report: every table and figure, no table wider than 1,400 px`, { skip, timeout: 120_000 }, async () => {
    const { path } = await build();
    const out = mkdtempSync(join(tmpdir(), 'btda-shots-'));
    const { written, cut } = await screenshotReport({ db: path, out, width: 1400, chromiumPath: CHROMIUM });
    assert.deepEqual(cut, [], 'tables that scroll at 1,400 px');
    const names = written.map((p) => basename(p));
    for (const id of ['report-full', 'report-top', 'torrents-measured', 'torrents', 'countries', 'country-speeds', 'networks',
      'fig-5.1-longest-wait', 'fig-5.2-load', 'fig-5.3-addresses-per-source', 'fig-5.4-confirmed-vs-reported', 'map-confirmed-by-country',
      'contacts-over-time', 'outcomes-per-run', 'download-speeds']) {
      assert.ok(names.includes(`${id}.png`), id);
    }
    for (const p of written) {
      const { width, height } = pngSize(p);
      assert.ok(width >= 1000 && width <= 1400 && height >= 80, `${basename(p)}: ${width}x${height}`);
      assert.ok(statSync(p).size > 2000, `${basename(p)} is not blank`);
    }
  });
}
