// The demo torrent: random content (unique per demo, so each demo is its own torrent in a database
// shared between demos), hashed in memory; only the .torrent file is written. Nobody downloads the
// content — btda never asks for a piece, and the simulated peers only pretend to have them.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bencode from 'bencode';

export interface DemoTorrent {
  path: string;
  name: string;
  pieces: number;
  pieceLength: number;
}

export function makeDemoTorrent(dir: string, opts: { pieces: number; pieceLength: number; trackers: string[] }): DemoTorrent {
  const name = `btda-demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}.bin`;
  const hashes = Buffer.alloc(20 * opts.pieces);
  for (let i = 0; i < opts.pieces; i++) {
    createHash('sha1').update(randomBytes(opts.pieceLength)).digest().copy(hashes, 20 * i);
  }
  const torrent = bencode.encode({
    announce: opts.trackers[0],
    'announce-list': opts.trackers.map((url) => [url]),
    'created by': 'btda demo',
    info: { length: opts.pieces * opts.pieceLength, name, 'piece length': opts.pieceLength, pieces: hashes },
  });
  const path = join(dir, `${name}.torrent`);
  writeFileSync(path, torrent);
  return { path, name, pieces: opts.pieces, pieceLength: opts.pieceLength };
}
