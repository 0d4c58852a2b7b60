// The README's "Queries for analysts" are what a new user pastes first: each one runs on a database a real
// crawl wrote (tracker, scripted peers, a peers file) and gives rows (issue 13 item 20).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { buildCrawlFixture } from '../analysis/fixture-crawl.ts';

/** The statements of the README's first sql block after `heading`, comments dropped. */
function readmeQueries(heading: string): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const block = section.slice(section.indexOf('```sql') + 6, section.indexOf('```', section.indexOf('```sql') + 6));
  const sql = block.split('\n').filter((l) => !l.trim().startsWith('--')).join('\n');
  return sql.split(';').map((q) => q.trim()).filter(Boolean);
}

test('every query of the README\'s "Queries for analysts" runs on a crawled database and gives rows', { timeout: 60_000 }, async () => {
  const queries = readmeQueries('### Queries for analysts');
  assert.ok(queries.length >= 7, `found ${queries.length} queries`);
  const { path } = await buildCrawlFixture();
  const db = new Sqlite(path, { readonly: true });
  try {
    for (const q of queries) {
      const rows = db.prepare(q).all();
      assert.ok(rows.length > 0, `no rows: ${q}`);
    }
    // the sources query groups one canonical order: no 'udp,http' beside 'http,udp' (item 18)
    const sources = (db.prepare('SELECT DISTINCT sources FROM peers').all() as { sources: string }[]).map((r) => r.sources);
    for (const s of sources) assert.ok(!s.includes('udp,http') && !s.includes('file,http'), s);
  } finally {
    db.close();
  }
});
