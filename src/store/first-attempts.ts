// Whether a run's first attempt at an address:port is the first ever (thesis table 5.7 compares first
// contacts with later ones): `peers.attempted_at` keeps when the address:port was first dialled, in any run,
// on its newest session (a new session there inherits it).
import type Sqlite from 'better-sqlite3';
import type { ContactResult } from '../types.ts';
import type { IsoClock } from './result-writer.ts';

export class FirstAttempts {
  private readonly attempted: Sqlite.Statement;
  private readonly mark: Sqlite.Statement;

  constructor(db: Sqlite.Database, private readonly runStartedAt: string, private readonly iso: IsoClock) {
    this.attempted = db.prepare('SELECT attempted_at FROM peers WHERE torrent_id = ? AND address_key = ? AND port = ? AND latest = 1');
    this.mark = db.prepare('UPDATE peers SET attempted_at = ? WHERE torrent_id = ? AND address_key = ? AND port = ? AND latest = 1 AND attempted_at IS NULL');
  }

  /** `first` when no earlier run attempted the address:port, else `later`; records this attempt. */
  classify(r: ContactResult, addressKey: string): 'first' | 'later' {
    const row = this.attempted.get(r.torrentId, addressKey, r.port) as { attempted_at: string | null } | undefined;
    if (row?.attempted_at != null && row.attempted_at < this.runStartedAt) return 'later';
    if (row && row.attempted_at === null) this.mark.run(this.iso.format(r.startedAt), r.torrentId, addressKey, r.port);
    return 'first';
  }
}
