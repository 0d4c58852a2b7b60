// A qbittorrent-nox (Debian 4.5.2, libtorrent-rasterbar 2.0.8) on its own loopback address, configured
// through its config file before it starts and driven over its Web API. Everything that could leave
// loopback is off: DHT, LSD, PEX, UPnP/NAT-PMP. `protocol: 'utp'` makes it a uTP-only peer (libtorrent's
// incoming and outgoing TCP off): what BEP 29-only peers look like to a TCP-only crawler.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { poll, type Managed, type ProcessGroup } from './processes.ts';

export interface QbittorrentOptions {
  name: string;
  /** Loopback address the client listens on (peers and Web API). */
  host: string;
  peerPort: number;
  webPort: number;
  /** Folder for the profile and downloads (created). */
  dir: string;
  /** Peer protocols: both (default), TCP only, or uTP only. */
  protocol?: 'both' | 'tcp' | 'utp';
}

export interface QbittorrentTorrent {
  hash: string;
  state: string;
  progress: number;
}

const PROTOCOL = { both: 'Both', tcp: 'TCP', utp: 'UTP' } as const;

export class Qbittorrent {
  readonly process: Managed;
  readonly downloadDir: string;

  constructor(
    readonly opts: QbittorrentOptions,
    group: ProcessGroup,
  ) {
    const configDir = join(opts.dir, 'qBittorrent', 'config');
    this.downloadDir = join(opts.dir, 'download');
    mkdirSync(configDir, { recursive: true });
    mkdirSync(this.downloadDir, { recursive: true });
    const conf = [
      '[LegalNotice]',
      'Accepted=true',
      '',
      '[BitTorrent]',
      `Session\\Port=${opts.peerPort}`,
      'Session\\Interface=lo',
      'Session\\InterfaceName=lo',
      `Session\\InterfaceAddress=${opts.host}`,
      `Session\\BTProtocol=${PROTOCOL[opts.protocol ?? 'both']}`,
      'Session\\DHTEnabled=false',
      'Session\\LSDEnabled=false',
      'Session\\PeXEnabled=false',
      'Session\\Encryption=0',
      'Session\\AnonymousModeEnabled=false',
      `Session\\DefaultSavePath=${this.downloadDir}`,
      'Session\\QueueingSystemEnabled=false',
      '',
      '[Network]',
      'PortForwardingEnabled=false',
      '',
      '[Preferences]',
      'Connection\\UPnP=false',
      'General\\Locale=en',
      `WebUI\\Address=${opts.host}`,
      `WebUI\\Port=${opts.webPort}`,
      'WebUI\\LocalHostAuth=false',
      'WebUI\\AuthSubnetWhitelistEnabled=true',
      'WebUI\\AuthSubnetWhitelist=127.0.0.0/8',
      'WebUI\\HostHeaderValidation=false',
      'WebUI\\CSRFProtection=false',
      'WebUI\\UseUPnP=false',
      '',
    ].join('\n');
    writeFileSync(join(configDir, 'qBittorrent.conf'), conf);
    this.process = group.start(opts.name, 'qbittorrent-nox', [`--profile=${opts.dir}`, `--webui-port=${opts.webPort}`], {
      env: { ...process.env, HOME: opts.dir, XDG_CONFIG_HOME: opts.dir, XDG_DATA_HOME: opts.dir, XDG_CACHE_HOME: opts.dir },
    });
  }

  private url(path: string): string {
    return `http://${this.opts.host}:${this.opts.webPort}/api/v2/${path}`;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(this.url(path), { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`${this.opts.name} ${path}: HTTP ${res.status}`);
    const text = await res.text();
    return (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as T;
  }

  /** Waits for the Web API (the client needs a moment to start). */
  async ready(timeoutMs = 20_000): Promise<string> {
    return poll(async () => {
      if (this.process.exitCode !== undefined) throw new Error(`${this.opts.name} exited: ${this.process.tail()}`);
      return await this.get<string>('app/version');
    }, timeoutMs, `${this.opts.name} Web API`);
  }

  /** Adds the torrent, its data already in downloadDir: seeds at once (no recheck). */
  async addSeed(torrentPath: string): Promise<void> {
    const form = new FormData();
    form.append('torrents', new Blob([readFileSync(torrentPath)]), 'x.torrent');
    form.append('savepath', this.downloadDir);
    form.append('skip_checking', 'true');
    const res = await fetch(this.url('torrents/add'), { method: 'POST', body: form, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (!res.ok || text.trim() !== 'Ok.') throw new Error(`${this.opts.name} torrents/add: HTTP ${res.status} ${text}`);
  }

  /** Adds the torrent to download into downloadDir (a leecher). */
  async addDownload(torrentPath: string): Promise<void> {
    const form = new FormData();
    form.append('torrents', new Blob([readFileSync(torrentPath)]), 'x.torrent');
    form.append('savepath', this.downloadDir);
    const res = await fetch(this.url('torrents/add'), { method: 'POST', body: form, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (!res.ok || text.trim() !== 'Ok.') throw new Error(`${this.opts.name} torrents/add: HTTP ${res.status} ${text}`);
  }

  async torrents(): Promise<QbittorrentTorrent[]> {
    return this.get<QbittorrentTorrent[]>('torrents/info');
  }

  /** libtorrent's effective settings as qBittorrent reports them (preferences). */
  async preferences(): Promise<Record<string, unknown>> {
    return this.get<Record<string, unknown>>('app/preferences');
  }
}
