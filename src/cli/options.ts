// Command-line flags map 1:1 onto Config (src/config.ts). Precedence: defaults < --config file < flags.
// A bad value ends the program with one line naming the flag and exit code 2 (ConfigError).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Options } from 'yargs';
import { AddressListError, parseCidr, readExcludeFile } from '../collectors/address-policy.ts';
import { defaultConfig, ENCRYPTION_POLICIES, type Config } from '../config.ts';

export class ConfigError extends Error {}

type Kind = 'int' | 'port' | 'seconds' | 'duration' | 'fraction' | 'bool' | 'string' | 'hostports' | 'choice' | 'cidrs';

interface Setting {
  key: keyof Config;
  flag: string;
  kind: Kind;
  describe: string;
  /** The values a 'choice' accepts. */
  choices?: readonly string[];
}

/** Every setting and its flag. Units and the reasons for the defaults: config.example.ts. */
export const SETTINGS: Setting[] = [
  { key: 'db', flag: 'db', kind: 'string', describe: 'SQLite database file' },
  { key: 'active', flag: 'active', kind: 'int', describe: 'concurrent outgoing peer contacts (0 = none)' },
  { key: 'passive', flag: 'passive', kind: 'bool', describe: 'accept inbound BitTorrent connections on --port' },
  { key: 'port', flag: 'port', kind: 'port', describe: 'TCP port of the inbound listener, announced to trackers (withdrawn at once without --passive)' },
  { key: 'listenHost', flag: 'listen-host', kind: 'string', describe: "address the listener binds ('::' = all, 127.0.0.1 = loopback)" },
  { key: 'dht', flag: 'dht', kind: 'bool', describe: 'run a DHT node and look up peers there' },
  { key: 'dhtPort', flag: 'dht-port', kind: 'port', describe: 'UDP port of our DHT node' },
  { key: 'dhtBootstrap', flag: 'dht-bootstrap', kind: 'hostports', describe: 'DHT bootstrap nodes, host:port,...' },
  { key: 'dhtState', flag: 'dht-state', kind: 'string', describe: 'file keeping the DHT routing table between runs' },
  { key: 'dht6', flag: 'dht6', kind: 'bool', describe: 'also run an IPv6 DHT node (BEP 32) on --dht-port' },
  { key: 'dhtScrape', flag: 'dht-scrape', kind: 'bool', describe: 'BEP 33 scrape after each DHT lookup' },
  { key: 'timeout', flag: 'timeout', kind: 'seconds', describe: 'seconds of peer silence that end a contact' },
  { key: 'connectTimeout', flag: 'connect-timeout', kind: 'seconds', describe: 'seconds for TCP connect + handshake' },
  { key: 'contactLimit', flag: 'contact-limit', kind: 'seconds', describe: 'hard limit on one contact, seconds' },
  { key: 'stopGrace', flag: 'stop-grace', kind: 'seconds', describe: 'seconds contacts in flight may still take when the run stops' },
  { key: 'encryption', flag: 'encryption', kind: 'choice', choices: ENCRYPTION_POLICIES, describe: 'MSE/PE: fallback (plaintext, then encrypted), prefer (encrypted, then plaintext), off' },
  { key: 'pex', flag: 'pex', kind: 'bool', describe: 'peer exchange: queue the peers a peer tells us about (--no-pex: off)' },
  { key: 'maxMessages', flag: 'max-messages', kind: 'int', describe: 'messages read per contact at most' },
  { key: 'openingGrace', flag: 'opening-grace', kind: 'seconds', describe: 'seconds after the first bitfield whose haves still count as the opening state' },
  { key: 'threshold', flag: 'threshold', kind: 'fraction', describe: 'share of pieces (0..1) that counts as complete' },
  { key: 'suspectRate', flag: 'suspect-rate', kind: 'int', describe: 'Mbit/s: a crossing faster than this counts as suspect, not confirmed' },
  { key: 'revisitDelay', flag: 'revisit-delay', kind: 'duration', describe: 'delay before a peer below the threshold is visited again' },
  { key: 'revisitComplete', flag: 'revisit-complete', kind: 'bool', describe: 'keep visiting peers that crossed the threshold' },
  { key: 'maxFailures', flag: 'max-failures', kind: 'int', describe: 'failed contacts in a row before a peer is retired' },
  { key: 'retryDelay', flag: 'retry-delay', kind: 'duration', describe: 'first retry delay after a failed contact (doubles)' },
  { key: 'trackerInterval', flag: 'tracker-interval', kind: 'duration', describe: 'delay between announces to a tracker' },
  { key: 'numwant', flag: 'numwant', kind: 'int', describe: 'peers asked of a tracker per announce' },
  { key: 'dhtInterval', flag: 'dht-interval', kind: 'duration', describe: 'delay between DHT lookups of a torrent' },
  { key: 'statsInterval', flag: 'stats-interval', kind: 'duration', describe: 'delay between rows of the statistics table' },
  { key: 'duration', flag: 'duration', kind: 'duration', describe: 'run length (seconds, or 90m, 2h, 1d); 0 = until stopped' },
  { key: 'allow', flag: 'allow', kind: 'cidrs', describe: 'dial this special-purpose range anyway (CIDR, repeatable), e.g. 127.0.0.0/8' },
  { key: 'exclude', flag: 'exclude', kind: 'string', describe: 'file of ranges never dialled (one CIDR per line, # comments)' },
  { key: 'peersFile', flag: 'peers-file', kind: 'string', describe: 'file of peers (ip:port or infohash ip:port per line)' },
  { key: 'inputPath', flag: 'input', kind: 'string', describe: 'folder of .torrent files imported at run start' },
  { key: 'magnetFile', flag: 'magnet-file', kind: 'string', describe: 'file of magnet links imported at run start' },
  { key: 'setLabel', flag: 'set', kind: 'string', describe: 'set label of imported torrents' },
  { key: 'geoipDb', flag: 'geoip', kind: 'string', describe: 'MaxMind City/Country .mmdb for geolocation (default: the built-in @ip-location-db country database; none: off)' },
  { key: 'storeIp', flag: 'store-ip', kind: 'bool', describe: 'store raw IP addresses (default: anonymized)' },
  { key: 'keyFile', flag: 'key-file', kind: 'string', describe: 'secret key of the address hash' },
  { key: 'maxIncoming', flag: 'max-incoming', kind: 'int', describe: 'inbound connections open at once' },
  { key: 'maxIncomingPerIp', flag: 'max-incoming-per-ip', kind: 'int', describe: 'inbound connections from one IP at once' },
  { key: 'flushIntervalMs', flag: 'flush-interval', kind: 'int', describe: 'most milliseconds of results kept unwritten' },
  { key: 'log', flag: 'log', kind: 'string', describe: 'append log lines to this file' },
  { key: 'debug', flag: 'debug', kind: 'bool', describe: 'debug logging' },
  { key: 'quiet', flag: 'quiet', kind: 'bool', describe: 'no progress line, warnings only' },
];

/** yargs option definitions without defaults, so an absent flag does not override the config file. */
export function yargsOptions(keys?: (keyof Config)[]): Record<string, Options> {
  const out: Record<string, Options> = {
    config: { type: 'string', describe: 'load settings from a config file (.ts, .js or .json)' },
  };
  for (const s of SETTINGS) {
    if (keys && !keys.includes(s.key)) continue;
    const def = defaultConfig[s.key];
    out[s.flag] = {
      type: s.kind === 'bool' ? 'boolean' : 'string',
      describe: s.describe,
      defaultDescription: def === undefined || def === '' ? undefined : JSON.stringify(def),
    };
  }
  return out;
}

/** Builds the Config: defaults, then the config file, then the flags given. Throws ConfigError. */
export async function resolveConfig(argv: Record<string, unknown>): Promise<Config> {
  const config: Config = { ...defaultConfig, dhtBootstrap: [...defaultConfig.dhtBootstrap], allow: [...defaultConfig.allow] };
  if (typeof argv.config === 'string') Object.assign(config, await loadConfigFile(argv.config));
  for (const s of SETTINGS) {
    const raw = argv[s.flag];
    if (raw === undefined) continue;
    (config as unknown as Record<string, unknown>)[s.key] = parseValue(s, raw);
  }
  validate(config);
  return config;
}

async function loadConfigFile(path: string): Promise<Partial<Config>> {
  const full = resolve(path);
  if (!existsSync(full)) throw new ConfigError(`--config: no such file ${path}`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(full).href, full.endsWith('.json') ? { with: { type: 'json' } } : undefined);
  } catch (err) {
    throw new ConfigError(`--config: cannot load ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const value = (mod.default ?? mod.config) as Record<string, unknown> | undefined;
  if (!value || typeof value !== 'object') throw new ConfigError(`--config: ${path} has no default export`);
  const known = new Map(SETTINGS.map((s) => [s.key as string, s]));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const s = known.get(key);
    if (!s) throw new ConfigError(`--config: unknown setting "${key}" in ${path}`);
    out[key] = parseValue(s, v);
  }
  return out as Partial<Config>;
}

function parseValue(s: Setting, raw: unknown): unknown {
  const bad = (why: string): never => {
    throw new ConfigError(`--${s.flag}: ${why} (got ${JSON.stringify(raw)})`);
  };
  const text = Array.isArray(raw) ? String(raw.at(-1)) : String(raw);
  switch (s.kind) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      return bad('expected true or false');
    case 'int': {
      const n = Number(text);
      return Number.isSafeInteger(n) && n >= 0 && text.trim() !== '' ? n : bad('expected a whole number >= 0');
    }
    case 'port': {
      const n = Number(text);
      return Number.isInteger(n) && n >= 0 && n <= 65535 && text.trim() !== '' ? n : bad('expected a port 0..65535');
    }
    case 'seconds': {
      const n = Number(text);
      return Number.isFinite(n) && n > 0 && text.trim() !== '' ? n : bad('expected seconds > 0');
    }
    case 'duration': {
      const n = parseDuration(text);
      return n === undefined ? bad('expected seconds or a duration like 90s, 90m, 2h, 1d') : n;
    }
    case 'fraction': {
      const n = Number(text);
      return Number.isFinite(n) && n > 0 && n <= 1 && text.trim() !== '' ? n : bad('expected a share in (0, 1]');
    }
    case 'hostports': {
      const list = Array.isArray(raw) ? raw.map(String) : text.split(',');
      const items = list.map((x) => x.trim()).filter(Boolean);
      for (const item of items) if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(item)) bad(`"${item}" is not host:port`);
      return items;
    }
    case 'string':
      return text;
    case 'choice':
      return s.choices!.includes(text) ? text : bad(`expected one of ${s.choices!.join(', ')}`);
    case 'cidrs': {
      // repeatable, and each may be a comma-separated list
      const items = (Array.isArray(raw) ? raw.map(String) : [text]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
      for (const item of items) if (!parseCidr(item)) bad(`"${item}" is not an address range (like 127.0.0.0/8 or ::1)`);
      return items;
    }
  }
}

/** "90" → 90, "90s" → 90, "90m" → 5400, "2h" → 7200, "1d" → 86400, "1h30m" → 5400 (seconds). */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]];
    consumed += m[0].length;
  }
  return consumed === t.length && consumed > 0 ? total : undefined;
}

function validate(c: Config): void {
  if (c.active > 65_536) throw new ConfigError(`--active: at most 65536 (got ${c.active})`);
  if (c.maxMessages < 1) throw new ConfigError('--max-messages: at least 1');
  if (c.passive && c.port === 0) throw new ConfigError('--port: the listener needs a port (got 0)');
  if (c.flushIntervalMs < 1) throw new ConfigError('--flush-interval: at least 1 ms');
  if (c.exclude) {
    try {
      readExcludeFile(c.exclude); // read again at the start of the crawl; here so that a bad line is a usage error
    } catch (err) {
      if (err instanceof AddressListError) throw new ConfigError(err.message);
      throw err;
    }
  }
}
