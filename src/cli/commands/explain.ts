// `btda explain [--peer ROW ...] [--address IP] [--class C] [--format text|json] [--db FILE|postgres://...]`: the observations
// behind a count. Without --peer or --address: every confirmed download (or every crossing of --class).
import { existsSync } from 'node:fs';
import type { Options } from 'yargs';
import { explainText } from '../../analysis/explain.ts';
import { keyFileOf } from '../../config.ts';
import { readEvidence, type EvidenceQuery } from '../../store/queries/evidence.ts';
import { redactUrl } from '../../store/pg/connection.ts';
import { AddressHasher } from '../../store/peer-identity.ts';
import { openReader, READ_DB } from '../open-database.ts';
import { ConfigError, resolveConfig, yargsOptions } from '../options.ts';

const CLASSES = ['confirmed', 'restart', 'suspect', 'all'] as const;

export function explainOptions(): Record<string, Options> {
  return {
    ...yargsOptions(['db', 'keyFile'], { db: READ_DB }),
    peer: { type: 'number', array: true, describe: 'peer row(s) (peers.id, confirmed_downloads.peer_row)' },
    address: { requiresArg: true, describe: 'an IP address: its sessions (needs the address key)' },
    class: { requiresArg: true, choices: CLASSES, default: 'confirmed', describe: 'without --peer/--address: which crossings' },
    limit: { type: 'number', default: 100, describe: 'most sessions shown' },
    format: { requiresArg: true, choices: ['text', 'json'], default: 'text', describe: 'output format' },
  };
}

export async function explainCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv, { postgres: true });
  const db = await openReader(config.db);
  try {
    if (!(await db.hasTable('observations'))) throw new ConfigError(`${redactUrl(config.db)} was written by an older btda: run btda once on it to migrate it`);
    let query: EvidenceQuery;
    const peers = (argv.peer as number[] | undefined)?.filter((n) => Number.isInteger(n));
    if (peers && peers.length > 0) query = { rows: peers };
    else if (typeof argv.address === 'string') {
      const keyFile = keyFileOf(config);
      if (!existsSync(keyFile)) throw new ConfigError(`--address needs the address key: ${keyFile} does not exist (--key-file)`);
      query = { addressKey: AddressHasher.fromKeyFile(keyFile).hash(argv.address) };
    } else {
      const cls = String(argv.class ?? 'confirmed');
      query = { crossingClass: cls === 'all' ? null : cls };
    }
    const limit = Number(argv.limit ?? 100);
    const sessions = await readEvidence(db, query, limit);
    const restartRows = sessions.map((s) => s.restartOf).filter((r): r is number => r !== null);
    const restartedFrom = new Map((await readEvidence(db, { rows: restartRows })).map((s) => [s.row, s]));
    if (argv.format === 'json') process.stdout.write(JSON.stringify({ sessions, restartedFrom: [...restartedFrom.values()] }, null, 2) + '\n');
    else process.stdout.write(explainText(sessions, restartedFrom));
    return 0;
  } finally {
    await db.close();
  }
}
