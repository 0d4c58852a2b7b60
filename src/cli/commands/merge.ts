// `btda merge A.sqlite B.sqlite ... -o OUT.sqlite [--threshold F] [--suspect-rate N]`: databases of several
// hosts or shards into one new database, counts re-derived from the merged observations (README "Merging
// databases"). Inputs whose address keys differ are refused (exit 2).
import type { Options } from 'yargs';
import { defaultConfig, isDatabaseUrl } from '../../config.ts';
import { MergeError, mergeDatabases, type MergeReport } from '../../store/merge.ts';
import { isPostgresUrl, redactUrl } from '../../store/pg/connection.ts';
import { mergeIntoPostgres } from '../../store/pg/merge-into.ts';
import { formatTable } from '../format.ts';
import { ConfigError, resolveConfig } from '../options.ts';
import { overridesOf, perRunOptions, recordRederivation } from './rederive.ts';
import type { ClassOrNone } from '../../store/rederive.ts';

export function mergeOptions(): Record<string, Options> {
  return {
    ...perRunOptions(['threshold', 'suspectRate']),
    out: { alias: 'o', requiresArg: true, demandOption: true, describe: 'the new database to write: a file, or postgres://... (a database without runs)' },
  };
}

export async function mergeCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv);
  const inputs = ((argv.inputs as unknown[] | undefined) ?? []).filter((x): x is string => typeof x === 'string' && x !== '');
  const out = String(argv.out);
  if (inputs.length === 0) throw new ConfigError('merge: name the databases to merge (btda merge A.sqlite B.sqlite ... -o OUT.sqlite)');
  const url = inputs.find(isDatabaseUrl);
  if (url) throw new ConfigError(`merge: ${redactUrl(url)}: the inputs are SQLite files written by btda (a postgres:// URL can only be the output, -o)`);
  const overrides = overridesOf(argv, config);
  const options = { ...overrides, defaultSuspectRate: defaultConfig.suspectRate };
  let report: MergeReport;
  let pushed = '';
  try {
    if (isPostgresUrl(out)) {
      const merged = await mergeIntoPostgres(inputs, out, options, (db) => recordRederivation(db, overrides));
      report = merged.report;
      pushed = `sent to ${redactUrl(out)}: ${Object.entries(merged.pushed).filter(([k, n]) => n > 0 && k !== 'demoted' && k !== 'twins').map(([k, n]) => `${n} ${k}`).join(', ')}\n`;
    } else {
      const merged = mergeDatabases(inputs, out, options);
      report = merged.report;
      try {
        recordRederivation(merged.out, overrides);
      } finally {
        merged.out.close();
      }
    }
  } catch (err) {
    if (err instanceof MergeError) throw new ConfigError(err.message);
    throw err;
  }
  const s = report.sessions;
  const classes: ClassOrNone[] = ['confirmed', 'restart', 'suspect', 'none'];
  const header = ['', ...report.inputs.map((i) => i.path), 'merged'];
  const row = (label: string, values: number[], merged: number) => [label, ...values.map(String), String(merged)];
  const table = formatTable(header, [
    row('runs', report.inputs.map((i) => i.runs), report.runs),
    row('sessions', report.inputs.map((i) => i.sessions), s.added),
    ...classes.map((c) => row(c === 'none' ? 'no crossing' : c, report.inputs.map((i) => i.classes[c]), report.rederived.after[c])),
  ]);
  process.stdout.write([
    table,
    `${redactUrl(out)}: torrents ${report.torrents.added} added, ${report.torrents.matched} matched by info hash; ` +
      `${s.joined} of the ${s.read} sessions read joined a session of another input; ${s.observations} observations; ` +
      Object.entries(report.rows).map(([t, n]) => `${n} ${t}`).join(', '),
    `crossings re-derived from the merged observations, threshold ${overrides.threshold ?? 'of each run'}, ` +
      `suspect rate ${overrides.suspectRate === undefined ? 'of each run' : `${overrides.suspectRate} Mbit/s`}`,
  ].join('\n') + '\n' + pushed);
  return 0;
}
