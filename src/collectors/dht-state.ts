// The DHT routing table kept between runs (BEP 5 asks clients to persist it), and parsing of node addresses.
// bittorrent-dht speaks UDP over IPv4 only, so IPv6 nodes are dropped here rather than failing later.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isIPv4 } from 'node:net';

/** One saved node: the `toJSON().nodes` shape plus the node id (hex), so a reload needs no ping. */
export interface SavedDhtNode {
  host: string;
  port: number;
  id?: string;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

/** 'host:port' or '[v6]:port' → {host, port}; null when malformed. Host names are kept (k-rpc resolves them). */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const s = text.trim();
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s);
  const plain = /^([^:\s]+):(\d{1,5})$/.exec(s);
  const m = bracketed ?? plain;
  if (!m) return null;
  const port = Number(m[2]);
  return validPort(port) ? { host: m[1], port } : null;
}

/** Bootstrap list for bittorrent-dht: IPv6 literals and malformed entries are reported and skipped. */
export function parseBootstrap(entries: string[]): { nodes: Array<{ host: string; port: number }>; skipped: string[] } {
  const nodes: Array<{ host: string; port: number }> = [];
  const skipped: string[] = [];
  for (const entry of entries) {
    const parsed = parseHostPort(entry);
    if (!parsed || parsed.host.includes(':')) skipped.push(entry);
    else nodes.push(parsed);
  }
  return { nodes, skipped };
}

/**
 * Reads a saved routing table: an array of nodes (or `{nodes: [...]}`, the whole `dht.toJSON()`).
 * A missing file is normal (first run) and gives []; a damaged one is reported through `warn` and gives [].
 */
export async function loadRoutingTable(path: string, warn: (msg: string) => void): Promise<SavedDhtNode[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`DHT state ${path} unreadable: ${(err as Error).message}`);
    return [];
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    warn(`DHT state ${path} is not JSON, ignored: ${(err as Error).message}`);
    return [];
  }
  const list = Array.isArray(data) ? data : (data as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(list)) {
    warn(`DHT state ${path} holds no node list, ignored`);
    return [];
  }
  const nodes: SavedDhtNode[] = [];
  for (const item of list) {
    const n = item as Partial<SavedDhtNode> | null;
    if (!n || typeof n.host !== 'string' || !isIPv4(n.host) || typeof n.port !== 'number' || !validPort(n.port)) continue;
    const id = typeof n.id === 'string' && /^[0-9a-f]{40}$/i.test(n.id) ? n.id.toLowerCase() : undefined;
    nodes.push(id ? { host: n.host, port: n.port, id } : { host: n.host, port: n.port });
  }
  return nodes;
}

/** Writes the table to a temporary file first and renames it, so a crash never leaves half a file. */
export async function saveRoutingTable(path: string, nodes: SavedDhtNode[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(nodes, null, 1) + '\n');
  await rename(tmp, path);
}
