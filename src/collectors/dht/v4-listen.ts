// bittorrent-dht's socket bound (bind errors turned into one clear rejection), its state saved, its announces.
import type DHT from 'bittorrent-dht';
import { isIPv4 } from 'node:net';
import type { Logger } from '../../log.ts';
import { saveDhtState } from '../dht-state.ts';

const BIND_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

export function listenDht(dht: DHT, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      dht.removeListener('listening', onListening);
      dht.removeListener('error', onError);
      dht.removeListener('warning', onError);
    };
    const onListening = () => {
      cleanup();
      resolve();
    };
    // k-rpc-socket reports EADDRINUSE/EACCES as 'error' but e.g. EADDRNOTAVAIL only as 'warning'.
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.syscall !== 'bind' && !BIND_ERRORS.has(err.code ?? '')) return;
      cleanup();
      dht.destroy();
      reject(new Error(`DHT: cannot listen on UDP ${host ?? '0.0.0.0'}:${port}: ${err.message}`));
    };
    dht.on('listening', onListening);
    dht.on('error', onError);
    dht.on('warning', onError);
    try {
      dht.listen(port, host);
    } catch (err) {
      onError(err as NodeJS.ErrnoException);
    }
  });
}

/** Writes our node id and IPv4 table; returns how many nodes were saved (0: none written). */
export async function saveV4State(dht: DHT, path: string): Promise<number> {
  if (dht.destroyed) return 0;
  const nodes = dht.nodes
    .toArray()
    .filter((n) => isIPv4(n.host))
    .map((n) => ({ host: n.host, port: n.port, id: Buffer.from(n.id).toString('hex') }));
  // An empty table (no network this run) must not overwrite a good one from an earlier run.
  if (!nodes.length) return 0;
  await saveDhtState(path, { nodeId: Buffer.from(dht.nodeId).toString('hex'), nodes, nodes6: [] });
  return nodes.length;
}

/** Right after a completed lookup bittorrent-dht reuses its tokens: no second lookup. Failures are debug lines. */
export function announceV4(dht: DHT, hash: string, port: number, log: Logger): void {
  try {
    dht.announce(hash, port, (err) => err && log.debug(`DHT announce ${hash}: ${err.message}`));
  } catch (err) {
    log.debug(`DHT announce ${hash}: ${(err as Error).message}`);
  }
}
