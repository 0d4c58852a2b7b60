// `--config FILE`: a .ts, .mts, .js, .mjs or .json file whose default export holds settings by their
// Config names (config.example.ts). A copy may live in any folder: TypeScript and JavaScript files load
// through tsx's isolated import, which reads them as ES modules whatever package.json is (or is not) near.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

/** The file's default export (or its `config` export) as a plain object; throws a one-line Error otherwise. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const full = resolve(path);
  if (!existsSync(full)) throw new Error(`no such file ${path}`);
  let value: unknown;
  try {
    if (/\.json$/i.test(full)) value = JSON.parse(readFileSync(full, 'utf8'));
    else value = pickExport(await tsImport(pathToFileURL(full).href, import.meta.url));
  } catch (err) {
    throw new Error(`cannot load ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path} has no default export of settings`);
  return value as Record<string, unknown>;
}

/** `export default {...}` as ESM, or wrapped once more when tsx read the file as CommonJS. */
function pickExport(mod: Record<string, unknown>): unknown {
  let value = mod.default ?? mod.config;
  const inner = value as Record<string, unknown> | undefined;
  if (inner && typeof inner === 'object' && Object.keys(inner).length === 1 && ('default' in inner || 'config' in inner)) {
    value = inner.default ?? inner.config;
  }
  return value;
}
