// `btda rederive [--db FILE] [--threshold F] [--suspect-rate N] [--dry-run]`: every session's crossing computed
// again from its observations (README "Re-deriving counts"), what changes printed per class, then written.
import { existsSync } from 'node:fs';
import type { Options } from 'yargs';
import { defaultConfig } from '../../config.ts';
import type { Database } from '../../store/database.ts';
import { openForReading, openForWriting } from '../open-database.ts';
import { rederiveCrossings, type ClassOrNone, type RederiveReport } from '../../store/rederive.ts';
import { RunLock, RunLockedError } from '../../store/run-lock.ts';
import { EXIT_LOCKED } from './run.ts';
import { formatTable } from '../format.ts';
import { ConfigError, resolveConfig, yargsOptions } from '../options.ts';

export function rederiveOptions(): Record<string, Options> {
  return {
    ...perRunOptions(['db', 'threshold', 'suspectRate']),
    'dry-run': { type: 'boolean', describe: 'print what would change, write nothing' },
  };
}

/** --threshold and --suspect-rate of rederive and merge: absent, each run's own value is used. */
export function perRunOptions(keys: ('db' | 'threshold' | 'suspectRate')[]): Record<string, Options> {
  const out = yargsOptions(keys, {
    threshold: 'one threshold (0..1) for every observation',
    suspectRate: 'Mbit/s: one suspect rate for every crossing',
  });
  for (const flag of ['threshold', 'suspect-rate']) if (out[flag]) out[flag] = { ...out[flag], defaultDescription: "each run's own" };
  return out;
}

/** The overrides the user gave: a flag or config value, else each run's own. */
export function overridesOf(argv: Record<string, unknown>, config: { threshold: number; suspectRate: number }) {
  return {
    threshold: argv.threshold !== undefined ? config.threshold : undefined,
    suspectRate: argv['suspect-rate'] !== undefined ? config.suspectRate : undefined,
  };
}

export async function rederiveCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv);
  // re-deriving never creates a database (the one --db rule: README "Commands")
  if (!existsSync(config.db)) throw new Error(`cannot open database ${config.db}: no such file (btda add or btda run creates one)`);
  const dryRun = argv['dry-run'] === true;
  const overrides = overridesOf(argv, config);
  // writing needs the database to itself: a crawl records crossings meanwhile
  let lock: RunLock | undefined;
  try {
    lock = dryRun ? undefined : RunLock.acquire(config.db);
  } catch (err) {
    if (!(err instanceof RunLockedError)) throw err;
    process.stderr.write(`btda: ${err.message}\n`);
    return EXIT_LOCKED;
  }
  try {
    const db = dryRun ? openForReading(config.db) : openForWriting(config.db);
    try {
      if (!db.hasColumn('runs', 'suspect_rate')) {
        throw new ConfigError(`${config.db} was written by an older btda: run btda rederive without --dry-run (it migrates the database first)`);
      }
      const report = rederiveCrossings(db, { ...overrides, defaultSuspectRate: defaultConfig.suspectRate, dryRun });
      if (!dryRun) {
        recordRederivation(db, overrides);
        db.checkpoint();
      }
      process.stdout.write(formatRederivation(config.db, report, overrides, dryRun));
      return 0;
    } finally {
      db.close();
    }
  } finally {
    lock?.release();
  }
}

/** The database says how its counts were last derived (meta `rederived`), and compares with the threshold used. */
export function recordRederivation(db: Database, overrides: { threshold?: number; suspectRate?: number }): void {
  db.setMeta('rederived', JSON.stringify({ at: new Date().toISOString(), threshold: overrides.threshold ?? 'each run', suspectRate: overrides.suspectRate ?? 'each run' }));
  if (overrides.threshold !== undefined) db.setThreshold(overrides.threshold);
}

const CLASSES: ClassOrNone[] = ['confirmed', 'restart', 'suspect', 'none'];

export function formatRederivation(dbPath: string, r: RederiveReport, overrides: { threshold?: number; suspectRate?: number }, dryRun: boolean): string {
  const rows = CLASSES.map((c) => [c === 'none' ? 'no crossing' : c, String(r.before[c]), String(r.after[c]), signed(r.after[c] - r.before[c])]);
  const moves = Object.entries(r.moves).map(([move, n]) => `  ${move}: ${n}`);
  return [
    `${dbPath}: ${r.sessions} sessions re-derived from their observations, threshold ${overrides.threshold ?? 'of each run'}, ` +
      `suspect rate ${overrides.suspectRate === undefined ? 'of each run' : `${overrides.suspectRate} Mbit/s`}`,
    formatTable(['class', 'before', 'after', 'change'], rows),
    ...(moves.length > 0 ? ['sessions that changed class:', ...moves] : []),
    `${r.changed} sessions changed${dryRun ? ' (dry run: nothing written)' : r.changed > 0 ? ', written' : ''}`,
  ].join('\n') + '\n';
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}
