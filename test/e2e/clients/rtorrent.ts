// An rtorrent (Debian 0.9.8, libtorrent 0.13.8) on its own loopback address, headless
// (`system.daemon.set`), configured by its own rc file in the test's folder: bound to that address and one
// port, no DHT, no PEX, no UDP trackers, a download limit. rtorrent has no status we poll here: it touches a
// file when the download finishes (event.download.finished), and rtorrent holds back its `have`s until its
// 2-minute keep-alive (SPEC), which is what the watch must sit through.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Managed, type ProcessGroup } from './processes.ts';

export interface RtorrentOptions {
  name: string;
  host: string;
  listenPort: number;
  /** Download folder (the torrent's file is written there; data already there is hash-checked first). */
  dir: string;
  torrentPath: string;
  /** Download limit, KiB/s; omitted = none. */
  downKiBps?: number;
}

export class Rtorrent {
  readonly process: Managed;
  readonly doneFile: string;

  constructor(
    readonly opts: RtorrentOptions,
    group: ProcessGroup,
  ) {
    mkdirSync(join(opts.dir, 'session'), { recursive: true });
    this.doneFile = join(opts.dir, 'btda-done');
    const rc = join(opts.dir, 'rtorrent.rc');
    writeFileSync(rc, [
      `directory.default.set = ${opts.dir}`,
      `session.path.set = ${join(opts.dir, 'session')}`,
      `network.bind_address.set = ${opts.host}`,
      `network.local_address.set = ${opts.host}`,
      `network.port_range.set = ${opts.listenPort}-${opts.listenPort}`,
      'network.port_random.set = no',
      'dht.mode.set = disable',
      'protocol.pex.set = no',
      'trackers.use_udp.set = no',
      `throttle.global_down.max_rate.set_kb = ${opts.downKiBps ?? 0}`,
      'system.daemon.set = true',
      `log.open_file = "rtorrent", ${join(opts.dir, 'rtorrent-events.log')}`,
      'log.add_output = "info", "rtorrent"',
      `method.set_key = event.download.finished, btda_done, "execute.nothrow = touch, ${this.doneFile}"`,
      `load.start_verbose = ${opts.torrentPath}`,
      '',
    ].join('\n'));
    // -n: no ~/.rtorrent.rc; -o import: ours
    this.process = group.start(opts.name, 'rtorrent', ['-n', '-o', `import=${rc}`], { env: { ...process.env, HOME: opts.dir, TERM: 'dumb' } });
  }

  /** Whether rtorrent reported the download finished. */
  get done(): boolean {
    return existsSync(this.doneFile);
  }
}
