// The address key belongs to its database: every stored address_key was made with it, so a run with
// another key would split every history without a word. The database records the key's fingerprint on
// first use; a run whose key does not match, or whose key file is missing once the database has peers,
// stops with one line naming both files (README "Privacy").
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Database } from './database.ts';
import { AddressHasher } from './peer-identity.ts';

/** The key cannot be used with this database: a usage error (exit 2), not a failure. */
export class AddressKeyError extends Error {}

/** The meta key (SQLite and PostgreSQL alike) under which a database records its address key's fingerprint. */
export const FINGERPRINT = 'address_key_fingerprint';

/** 16 hex characters that identify a key without revealing it. */
export function keyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('btda address key fingerprint').digest('hex').slice(0, 16);
}

/** Opens the key at `keyPath` for `db` (stored at `dbPath`), creating it only for a database that has no peers yet. */
export function openAddressKey(db: Database, dbPath: string, keyPath: string): AddressHasher {
  const recorded = db.meta(FINGERPRINT);
  if (!existsSync(keyPath)) {
    if (recorded !== null) {
      throw new AddressKeyError(`address key file ${keyPath} does not exist, but database ${dbPath} was written with key ${recorded}: ` +
        'pass --key-file with that key (a new key would split every peer history)');
    }
    if (db.hasPeers()) {
      throw new AddressKeyError(`address key file ${keyPath} does not exist, but database ${dbPath} already has peers keyed ` +
        'by an earlier key: pass --key-file with that key (a new key would split every peer history)');
    }
  }
  const hasher = AddressHasher.fromKeyFile(keyPath);
  const fingerprint = keyFingerprint(hasher.key);
  if (recorded === null) db.setMeta(FINGERPRINT, fingerprint);
  else if (recorded !== fingerprint) {
    throw new AddressKeyError(`address key file ${keyPath} (fingerprint ${fingerprint}) is not the key database ${dbPath} ` +
      `was written with (fingerprint ${recorded}): pass --key-file with that key`);
  }
  return hasher;
}
