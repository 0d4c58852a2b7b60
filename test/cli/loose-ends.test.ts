// Loose ends a reader trips over (issue 13 item 13): dependencies nobody imports, comments that name
// files which do not exist, a peer-id comment that does not match what is built, fields nobody reads.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { makePeerId } from '../../src/cli/crawl.ts';
import { parseExtensionHandshake } from '../../src/wire/extension-handshake.ts';
import { VERSION } from '../../src/version.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    return statSync(join(ROOT, rel)).isDirectory() ? filesUnder(rel) : /\.(ts|js|md|sh)$/.test(name) ? [rel] : [];
  });
}
const SOURCES = [...filesUnder('src'), ...filesUnder('scripts'), ...filesUnder('bin'), 'config.example.ts', 'README.md'];
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

test('every dependency in package.json is imported by btda', () => {
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
  const code = SOURCES.filter((f) => !f.endsWith('.md')).map(read).join('\n');
  for (const name of Object.keys(pkg.dependencies)) {
    assert.ok(code.includes(`'${name}'`) || code.includes(`'${name}/`), `${name} is declared but never imported`);
  }
});

test('files named in comments and docs exist', () => {
  for (const file of SOURCES) {
    for (const m of read(file).matchAll(/\b(?:src|test|scripts|bin)\/[\w/.-]+\.(?:ts|js|md|sh)\b|\b[A-Z][A-Z_-]+\.md\b/g)) {
      assert.ok(existsSync(join(ROOT, m[0])), `${file} names ${m[0]}, which does not exist`);
    }
  }
});

test('the peer id is built as its comment says: -BD, major and minor version, -, 12 random bytes', () => {
  const [major, minor] = VERSION.split('.');
  const id = makePeerId();
  assert.equal(id.length, 20);
  assert.equal(id.subarray(0, 8).toString(), `-BD${major.padStart(2, '0')}${minor.padStart(2, '0')}-`);
  assert.match(read('src/cli/crawl.ts'), /"-BD0001-" for 0\.1\.x/);
});

test('the extension handshake keeps only what btda reads (no yourip)', () => {
  const hs = parseExtensionHandshake(Buffer.from('d6:yourip4:\x7f\x00\x00\x011:pi6881ee', 'latin1'));
  assert.equal(hs?.listenPort, 6881);
  assert.equal('yourIp' in (hs ?? {}), false);
});
