// A transmission-daemon (Debian 3.00) on its own loopback address, driven over its RPC interface.
// Everything that could leave loopback is off: DHT, LPD, PEX, UPnP/NAT-PMP, blocklist updates; uTP unless asked.
// Its tracker announces go through libcurl bound to bind-address-ipv4, so the tracker sees the client
// at its own address (and lists it there to others).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { poll, type Managed, type ProcessGroup } from './processes.ts';

export interface TransmissionOptions {
  name: string;
  /** Loopback address the daemon binds (peers, RPC and its tracker requests). */
  host: string;
  peerPort: number;
  rpcPort: number;
  /** Folder for config and downloads (created). */
  dir: string;
  /** Download limit, kB/s (transmission's kB = 1000 bytes); 0 = none. */
  downKBps?: number;
  /** 0 = plaintext preferred, 1 = prefer encryption (default), 2 = require encryption (plaintext closed at once). */
  encryption?: 0 | 1 | 2;
  /** Accept and open uTP connections (BEP 29) beside TCP; off by default (transmission 3.00 cannot turn TCP off). */
  utp?: boolean;
  /** Stop the torrent once this upload ratio is reached (seedRatioLimited); 0 = quit at completion. Unset: seed on. */
  seedRatioLimit?: number;
}

export interface TransmissionStatus {
  percentDone: number;
  /** 0 stopped, 4 downloading, 6 seeding, ... */
  status: number;
  leftUntilDone: number;
  doneDate: number;
  error: number;
  errorString: string;
  peersConnected: number;
}

export class Transmission {
  readonly process: Managed;
  readonly downloadDir: string;
  private sessionId = '';
  private torrentId: number | null = null;

  constructor(
    readonly opts: TransmissionOptions,
    group: ProcessGroup,
  ) {
    const configDir = join(opts.dir, 'config');
    this.downloadDir = join(opts.dir, 'download');
    mkdirSync(configDir, { recursive: true });
    mkdirSync(this.downloadDir, { recursive: true });
    const settings = {
      'bind-address-ipv4': opts.host,
      'bind-address-ipv6': '::1',
      'peer-port': opts.peerPort,
      'peer-port-random-on-start': false,
      'port-forwarding-enabled': false,
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': opts.utp ?? false,
      'blocklist-enabled': false,
      // 1 = prefer encryption but accept plaintext; 2 = require it
      encryption: opts.encryption ?? 1,
      'rpc-enabled': true,
      'rpc-bind-address': opts.host,
      'rpc-port': opts.rpcPort,
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': false,
      'rpc-host-whitelist-enabled': false,
      'download-dir': this.downloadDir,
      'incomplete-dir-enabled': false,
      'watch-dir-enabled': false,
      'speed-limit-down': opts.downKBps ?? 0,
      'speed-limit-down-enabled': (opts.downKBps ?? 0) > 0,
      'speed-limit-up-enabled': false,
      'alt-speed-enabled': false,
      // ratio-limit 0: the torrent stops (and its connections close) the moment it completes
      'ratio-limit-enabled': opts.seedRatioLimit !== undefined,
      'ratio-limit': opts.seedRatioLimit ?? 2,
      'idle-seeding-limit-enabled': false,
      'start-added-torrents': true,
      'script-torrent-done-enabled': false,
      'cache-size-mb': 4,
      'message-level': 2,
      'peer-limit-global': 50,
      'peer-limit-per-torrent': 20,
    };
    writeFileSync(join(configDir, 'settings.json'), JSON.stringify(settings, null, 2));
    this.process = group.start(opts.name, 'transmission-daemon', ['--foreground', '--config-dir', configDir]);
    void this.process.exited.then(() => this.removeSessionIdFile());
    process.once('exit', () => this.removeSessionIdFile());
  }

  /**
   * transmission 3.00 keeps a lock file named after its RPC session id in /tmp itself (not $TMPDIR), and
   * leaves it there when it is killed before its shutdown ends: removed here, so tests leave nothing in /tmp.
   */
  private removeSessionIdFile(): void {
    const file = this.sessionIdFile;
    if (file) rmSync(file, { force: true });
  }

  /** The daemon's lock file, known once an RPC call has read the session id. */
  get sessionIdFile(): string | null {
    return /^[A-Za-z0-9]+$/.test(this.sessionId) ? `/tmp/tr_session_id_${this.sessionId}` : null;
  }

  private get url(): string {
    return `http://${this.opts.host}:${this.opts.rpcPort}/transmission/rpc`;
  }

  /** One RPC call; handles the X-Transmission-Session-Id handshake (409, then retry). */
  async rpc(method: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-transmission-session-id': this.sessionId },
        body: JSON.stringify({ method, arguments: args }),
        signal: AbortSignal.timeout(3000),
      });
      if (res.status === 409) {
        this.sessionId = res.headers.get('x-transmission-session-id') ?? '';
        await res.body?.cancel();
        continue;
      }
      const body = (await res.json()) as { result: string; arguments: Record<string, unknown> };
      if (body.result !== 'success') throw new Error(`${this.opts.name} ${method}: ${body.result}`);
      return body.arguments;
    }
    throw new Error(`${this.opts.name} ${method}: no session id`);
  }

  /** Waits for the RPC interface (the daemon needs a moment to start). */
  async ready(timeoutMs = 15_000): Promise<void> {
    await poll(async () => {
      if (this.process.exitCode !== undefined) throw new Error(`${this.opts.name} exited: ${this.process.tail()}`);
      await this.rpc('session-get');
      return true;
    }, timeoutMs, `${this.opts.name} RPC`);
  }

  /** Adds the torrent (downloads into downloadDir, or verifies data already there and seeds). */
  async add(torrentPath: string): Promise<void> {
    const args = await this.rpc('torrent-add', {
      metainfo: readFileSync(torrentPath).toString('base64'),
      'download-dir': this.downloadDir,
      paused: false,
    });
    const added = (args['torrent-added'] ?? args['torrent-duplicate']) as { id: number } | undefined;
    if (!added) throw new Error(`${this.opts.name}: torrent-add returned ${JSON.stringify(args)}`);
    this.torrentId = added.id;
  }

  async status(): Promise<TransmissionStatus> {
    const args = await this.rpc('torrent-get', {
      ids: [this.torrentId],
      fields: ['percentDone', 'status', 'leftUntilDone', 'doneDate', 'error', 'errorString', 'peersConnected'],
    });
    const [t] = args.torrents as TransmissionStatus[];
    if (!t) throw new Error(`${this.opts.name}: torrent ${this.torrentId} unknown`);
    return t;
  }

  /** Version line, e.g. "transmission-daemon 3.00 (bb6b5a062e)". */
  async version(): Promise<string> {
    const args = await this.rpc('session-get', { fields: ['version'] });
    return String(args.version);
  }
}
