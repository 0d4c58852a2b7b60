// Real clients seeding one small torrent on loopback, for the uTP trial and benchmark:
//   transmission-daemon 3.00 (libutp, TCP and uTP: 3.00 cannot turn TCP off),
//   qbittorrent-nox 4.5.2 / libtorrent 2.0.8 uTP only (TCP off: a BEP 29-only peer),
//   qbittorrent-nox with both, to compare TCP and uTP on the same libtorrent.
// Each on its own 127.0.0.x; the processes are ended by close() (and by the ProcessGroup's exit hook).
import { mkdirSync, mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../../test/helpers/make-torrent.ts';
import { freePort, freeTcpPort } from '../../test/e2e/clients/ports.ts';
import { hasCommand, poll, ProcessGroup } from '../../test/e2e/clients/processes.ts';
import { Qbittorrent } from '../../test/e2e/clients/qbittorrent.ts';
import { Transmission } from '../../test/e2e/clients/transmission.ts';

export interface Seed {
  label: string;
  host: string;
  port: number;
  /** What the client accepts. */
  tcp: boolean;
  utp: boolean;
  version: string;
}

export interface Seeds {
  seeds: Seed[];
  infoHash: Buffer;
  pieces: number;
  dir: string;
  close(): Promise<void>;
}

/** 1 MiB in 16 KiB pieces: 64 pieces, a bitfield of 8 bytes. */
const SIZE = 1024 * 1024;
const PIECE = 16 * 1024;

export function missingClients(): string[] {
  return ['transmission-daemon', 'qbittorrent-nox'].filter((c) => !hasCommand(c));
}

export async function startSeeds(which: { transmission?: boolean; qbtUtp?: boolean; qbtBoth?: boolean } = {}): Promise<Seeds> {
  const dir = mkdtempSync(join(tmpdir(), 'btda-utp-'));
  const group = new ProcessGroup(dir);
  const close = async () => {
    await group.stopAll();
    if (!process.env.BTDA_KEEP_UTP) rmSync(dir, { recursive: true, force: true });
  };
  try {
    mkdirSync(join(dir, 'made'));
    const made = await makeTorrent({ name: 'utp-trial.bin', size: SIZE, pieceLength: PIECE, dir: join(dir, 'made') });
    const parsed = parseTorrentFile(made.torrent);
    const seeds: Seed[] = [];
    const waits: Promise<void>[] = [];

    if (which.transmission !== false) {
      const host = '127.0.0.61';
      const t = new Transmission(
        { name: 'transmission', host, peerPort: await freePort(host), rpcPort: await freeTcpPort(host), dir: join(dir, 'transmission'), utp: true, encryption: 1 },
        group,
      );
      copyFileSync(made.contentPath, join(t.downloadDir, 'utp-trial.bin'));
      waits.push(
        (async () => {
          await t.ready();
          await t.add(made.path);
          await poll(async () => ((await t.status()).percentDone === 1 ? true : undefined), 20_000, 'transmission seeding');
          seeds.push({ label: 'transmission 3.00 (libutp)', host, port: t.opts.peerPort, tcp: true, utp: true, version: await t.version() });
        })(),
      );
    }
    const qbt = (label: string, host: string, protocol: 'utp' | 'both') => {
      const name = `qbittorrent-${protocol}`;
      waits.push(
        (async () => {
          const q = new Qbittorrent({ name, host, peerPort: await freePort(host), webPort: await freeTcpPort(host), dir: join(dir, name), protocol }, group);
          mkdirSync(q.downloadDir, { recursive: true });
          copyFileSync(made.contentPath, join(q.downloadDir, 'utp-trial.bin'));
          const version = await q.ready();
          await q.addSeed(made.path);
          await poll(async () => ((await q.torrents())[0]?.progress === 1 ? true : undefined), 20_000, `${name} seeding`);
          seeds.push({ label, host, port: q.opts.peerPort, tcp: protocol === 'both', utp: true, version: `qBittorrent ${version}` });
        })(),
      );
    };
    if (which.qbtUtp !== false) qbt('qBittorrent 4.5.2, libtorrent 2.0.8, uTP only', '127.0.0.62', 'utp');
    if (which.qbtBoth !== false) qbt('qBittorrent 4.5.2, libtorrent 2.0.8, TCP + uTP', '127.0.0.63', 'both');
    await Promise.all(waits);
    seeds.sort((a, b) => a.host.localeCompare(b.host));
    return { seeds, infoHash: Buffer.from(parsed.infoHash, 'hex'), pieces: parsed.pieces ?? 64, dir, close };
  } catch (err) {
    await close();
    throw err;
  }
}
