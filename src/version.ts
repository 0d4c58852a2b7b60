import { readFileSync } from 'node:fs';

/** btda's version, from package.json (stored in every `runs` row). */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
