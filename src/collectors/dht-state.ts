// What our DHT node keeps between runs (BEP 5 asks clients to keep their node id and routing table), and
// parsing of node addresses.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isIP, isIPv4 } from 'node:net';

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

/** What a run keeps for the next one: our node id (BEP 5: keep it) and the routing table of each family. */
export interface DhtState {
  /** 40 hex digits; absent in files written before the id was kept. */
  nodeId?: string;
  nodes: SavedDhtNode[];
  nodes6: SavedDhtNode[];
}

const EMPTY_STATE: DhtState = { nodes: [], nodes6: [] };

function readNodes(list: unknown, family: 4 | 6): SavedDhtNode[] {
  if (!Array.isArray(list)) return [];
  const nodes: SavedDhtNode[] = [];
  for (const item of list) {
    const n = item as Partial<SavedDhtNode> | null;
    if (!n || typeof n.host !== 'string' || isIP(n.host) !== family || typeof n.port !== 'number' || !validPort(n.port)) continue;
    const id = typeof n.id === 'string' && /^[0-9a-f]{40}$/i.test(n.id) ? n.id.toLowerCase() : undefined;
    nodes.push(id ? { host: n.host, port: n.port, id } : { host: n.host, port: n.port });
  }
  return nodes;
}

/**
 * Reads the saved state: `{nodeId, nodes, nodes6}`, or the older forms (an array of nodes, or the whole
 * `dht.toJSON()`). A missing file is normal (first run); a damaged one is reported through `warn`.
 */
export async function loadDhtState(path: string, warn: (msg: string) => void): Promise<DhtState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`DHT state ${path} unreadable: ${(err as Error).message}`);
    return EMPTY_STATE;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    warn(`DHT state ${path} is not JSON, ignored: ${(err as Error).message}`);
    return EMPTY_STATE;
  }
  if (Array.isArray(data)) return { nodes: readNodes(data, 4), nodes6: [] };
  const obj = (data ?? {}) as { nodeId?: unknown; nodes?: unknown; nodes6?: unknown };
  if (!Array.isArray(obj.nodes) && !Array.isArray(obj.nodes6)) {
    warn(`DHT state ${path} holds no node list, ignored`);
    return EMPTY_STATE;
  }
  const nodeId = typeof obj.nodeId === 'string' && /^[0-9a-f]{40}$/i.test(obj.nodeId) ? obj.nodeId.toLowerCase() : undefined;
  return { nodeId, nodes: readNodes(obj.nodes, 4), nodes6: readNodes(obj.nodes6, 6) };
}

/** Writes the state to a temporary file first and renames it, so a crash never leaves half a file. */
export async function saveDhtState(path: string, state: DhtState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 1) + '\n');
  await rename(tmp, path);
}
