// Command-line flags map 1:1 onto Config (src/config.ts). Precedence: defaults < --config file < flags.
// A bad value ends the program with one line naming the flag and exit code 2 (ConfigError).
import type { Options } from 'yargs';
import { AddressListError, parseCidr, readExcludeFile } from '../collectors/address-policy.ts';
import { defaultConfig, ENCRYPTION_POLICIES, isDatabaseUrl, type Config } from '../config.ts';
import { readConfigFile } from './config-file.ts';
import { DURATION_SYNTAX, formatDuration, parseDuration, type PlainUnit } from './durations.ts';

export { parseDuration } from './durations.ts';
import { Shard, ShardError } from '../queue/shard.ts';

export class ConfigError extends Error {}

type Kind = 'int' | 'port' | 'duration' | 'fraction' | 'bool' | 'string' | 'hostports' | 'choice' | 'cidrs';

interface Setting {
  key: keyof Config;
  flag: string;
  kind: Kind;
  describe: string;
  /** The values a 'choice' accepts. */
  choices?: readonly string[];
  /** 'duration': the unit of a plain number and of the Config value (default seconds). */
  unit?: PlainUnit;
  /** 'duration': 0 is not allowed (a timeout or an interval of 0 makes no sense). */
  positive?: boolean;
}

/** Every setting and its flag. Units and the reasons for the defaults: config.example.ts. */
export const SETTINGS: Setting[] = [
  { key: 'db', flag: 'db', kind: 'string', describe: 'SQLite database file (btda run also takes postgres://user:password@host/db)' },
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
  { key: 'timeout', flag: 'timeout', kind: 'duration', positive: true, describe: 'peer silence that ends a contact' },
  { key: 'connectTimeout', flag: 'connect-timeout', kind: 'duration', positive: true, describe: 'time for the TCP connect and the peer\'s handshake' },
  { key: 'contactLimit', flag: 'contact-limit', kind: 'duration', positive: true, describe: 'hard limit on one contact' },
  { key: 'stopGrace', flag: 'stop-grace', kind: 'duration', positive: true, describe: 'time contacts in flight may still take when the run stops' },
  { key: 'encryption', flag: 'encryption', kind: 'choice', choices: ENCRYPTION_POLICIES, describe: 'MSE/PE: fallback (plaintext, then encrypted), prefer (encrypted, then plaintext), off' },
  { key: 'pex', flag: 'pex', kind: 'bool', describe: 'peer exchange: queue the peers a peer tells us about' },
  { key: 'maxMessages', flag: 'max-messages', kind: 'int', describe: 'messages read per contact at most' },
  { key: 'openingGrace', flag: 'opening-grace', kind: 'duration', positive: true, describe: 'haves this soon after the first bitfield count as the opening state' },
  { key: 'threshold', flag: 'threshold', kind: 'fraction', describe: 'share of pieces (0..1) that counts as complete' },
  { key: 'suspectRate', flag: 'suspect-rate', kind: 'int', describe: 'Mbit/s: a crossing faster than this counts as suspect, not confirmed' },
  { key: 'revisitDelay', flag: 'revisit-delay', kind: 'duration', describe: 'delay before a peer below the threshold is visited again' },
  { key: 'revisitComplete', flag: 'revisit-complete', kind: 'bool', describe: 'keep visiting peers that crossed the threshold, and seeds (else contacted once)' },
  { key: 'watch', flag: 'watch', kind: 'int', describe: 'connections kept open to downloading peers until they cross (0 = none; default: 2 x --active, within the open-file limit)' },
  { key: 'watchStall', flag: 'watch-stall', kind: 'duration', positive: true, describe: 'a watched peer without a new piece this long is let go' },
  { key: 'maxFailures', flag: 'max-failures', kind: 'int', describe: 'failed contacts in a row before a peer is retired' },
  { key: 'retryDelay', flag: 'retry-delay', kind: 'duration', describe: 'first retry delay after a failed contact (doubles)' },
  { key: 'trackerInterval', flag: 'tracker-interval', kind: 'duration', positive: true, describe: 'delay between announces to a tracker' },
  { key: 'numwant', flag: 'numwant', kind: 'int', describe: 'peers asked of a tracker per announce' },
  { key: 'dhtInterval', flag: 'dht-interval', kind: 'duration', positive: true, describe: 'delay between DHT lookups of a torrent' },
  { key: 'statsInterval', flag: 'stats-interval', kind: 'duration', positive: true, describe: 'delay between rows of the statistics table' },
  { key: 'duration', flag: 'duration', kind: 'duration', describe: 'run length; 0 = until stopped' },
  { key: 'allow', flag: 'allow', kind: 'cidrs', describe: 'dial this special-purpose range anyway (CIDR, repeatable), e.g. 127.0.0.0/8' },
  { key: 'exclude', flag: 'exclude', kind: 'string', describe: 'file of ranges never dialled (one CIDR per line, # comments)' },
  { key: 'shard', flag: 'shard', kind: 'string', describe: 'K/N: this host dials only its share (shard K of N) of the peers; merge the databases with btda merge' },
  { key: 'peersFile', flag: 'peers-file', kind: 'string', describe: 'file of peers (ip:port or infohash ip:port per line)' },
  { key: 'inputPath', flag: 'input', kind: 'string', describe: 'folder of .torrent files imported at run start' },
  { key: 'magnetFile', flag: 'magnet-file', kind: 'string', describe: 'file of magnet links imported at run start' },
  { key: 'setLabel', flag: 'set', kind: 'string', describe: 'set label of imported torrents; run measures only the torrents of this set' },
  { key: 'geoipDb', flag: 'geoip', kind: 'string', describe: 'MaxMind City/Country .mmdb for geolocation (default: the built-in @ip-location-db country database; none: off)' },
  { key: 'storeIp', flag: 'store-ip', kind: 'bool', describe: 'store raw IP addresses (default: anonymized)' },
  { key: 'keyFile', flag: 'key-file', kind: 'string', describe: 'secret key of the address hash (default: btda.key beside the database; the database refuses another key)' },
  { key: 'maxIncoming', flag: 'max-incoming', kind: 'int', describe: 'inbound connections open at once' },
  { key: 'maxIncomingPerIp', flag: 'max-incoming-per-ip', kind: 'int', describe: 'inbound connections from one IP at once' },
  { key: 'flushIntervalMs', flag: 'flush-interval', kind: 'duration', unit: 'ms', positive: true, describe: 'longest time results are kept in memory unwritten' },
  { key: 'spool', flag: 'spool', kind: 'string', describe: 'with --db postgres://...: local SQLite file the crawl writes and pushes from (default: beside the key file, one per database and shard)' },
  { key: 'pushInterval', flag: 'push-interval', kind: 'duration', positive: true, describe: 'with --db postgres://...: delay between pushes of the spool to PostgreSQL' },
  { key: 'pullInterval', flag: 'pull-interval', kind: 'duration', describe: 'with --db postgres://..., --shard and --store-ip: delay between pulls of the endpoints of this shard other hosts learnt (0 = off; nothing is pulled without --shard or --store-ip)' },
  { key: 'log', flag: 'log', kind: 'string', describe: 'append log lines to this file' },
  { key: 'debug', flag: 'debug', kind: 'bool', describe: 'debug logging' },
  { key: 'quiet', flag: 'quiet', kind: 'bool', describe: 'no progress line, warnings only' },
];

/** The setting's default as --help shows it: durations with their unit ("6s", "5m"). */
function defaultText(s: Setting): string | undefined {
  const def = defaultConfig[s.key];
  if (def === undefined || def === '') return undefined;
  if (s.kind === 'duration' && typeof def === 'number') return formatDuration(s.unit === 'ms' ? def / 1000 : def);
  if (Array.isArray(def)) return def.join(',');
  return String(def);
}

/** What --help shows after the description: the kind of value a flag takes. */
const VALUE_HINT: Partial<Record<Kind, string>> = { int: 'number', port: 'port', duration: 'duration', fraction: '0..1', hostports: 'host:port,...' };

/**
 * yargs option definitions without defaults, so an absent flag does not override the config file.
 * Values stay strings for our own parser (one error line naming the flag); `describe` overrides a
 * flag's text for one command (`--set` labels imports for `add`, filters for `torrents`).
 */
export function yargsOptions(keys?: (keyof Config)[], describe: Partial<Record<keyof Config, string>> = {}): Record<string, Options> {
  const out: Record<string, Options> = {
    config: { requiresArg: true, describe: 'load settings from a config file (.ts, .js or .json; see config.example.ts)' },
  };
  for (const s of SETTINGS) {
    if (keys && !keys.includes(s.key)) continue;
    const hint = VALUE_HINT[s.kind] ?? (s.kind === 'choice' ? s.choices!.join('|') : undefined);
    const text = describe[s.key] ?? s.describe;
    out[s.flag] = s.kind === 'bool'
      ? { type: 'boolean', describe: `${text} (--no-${s.flag}: off)`, defaultDescription: defaultText(s) }
      : { requiresArg: true, describe: hint ? `${text} [${hint}]` : text, defaultDescription: defaultText(s) };
  }
  return out;
}

/** The --help epilogue of commands with time settings. */
export const DURATION_HELP = `Durations: ${DURATION_SYNTAX}.`;

/**
 * Builds the Config: defaults, then the config file, then the flags given. Throws ConfigError.
 * `postgres`: the command takes a postgres:// URL as --db (run writes it; report, export and explain read it).
 */
export async function resolveConfig(argv: Record<string, unknown>, opts: { postgres?: boolean } = {}): Promise<Config> {
  const config: Config = { ...defaultConfig, dhtBootstrap: [...defaultConfig.dhtBootstrap], allow: [...defaultConfig.allow] };
  if (argv.config !== undefined) Object.assign(config, await loadConfigFile(String(argv.config)));
  for (const s of SETTINGS) {
    const raw = argv[s.flag];
    if (raw === undefined) continue;
    (config as unknown as Record<string, unknown>)[s.key] = parseValue(s, raw, `--${s.flag}`);
  }
  validate(config, opts);
  return config;
}

async function loadConfigFile(path: string): Promise<Partial<Config>> {
  let value: Record<string, unknown>;
  try {
    value = await readConfigFile(path);
  } catch (err) {
    throw new ConfigError(`--config: ${(err as Error).message}`);
  }
  const known = new Map(SETTINGS.map((s) => [s.key as string, s]));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const s = known.get(key);
    if (!s) throw new ConfigError(`--config: unknown setting "${key}" in ${path}`);
    if (v === undefined || v === null) continue; // "not set": the default stays (config.example.ts lists such keys)
    out[key] = parseValue(s, v, `${path}: ${key}`);
  }
  return out as Partial<Config>;
}

function parseValue(s: Setting, raw: unknown, where: string): unknown {
  const bad = (why: string): never => {
    throw new ConfigError(`${where}: ${why} (got ${JSON.stringify(raw)})`);
  };
  // `--no-db` and friends: only switches have an "off"
  if ((Array.isArray(raw) ? raw.at(-1) : raw) === false && s.kind !== 'bool') return bad('needs a value');
  const text = Array.isArray(raw) ? String(raw.at(-1)) : String(raw);
  const number = () => (text.trim() === '' ? NaN : Number(text));
  switch (s.kind) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return bad('expected true or false');
    case 'int': {
      const n = number();
      return Number.isSafeInteger(n) && n >= 0 ? n : bad('expected a whole number >= 0');
    }
    case 'port': {
      const n = number();
      return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : bad('expected a port 0..65535');
    }
    case 'duration': {
      const seconds = parseDuration(text, s.unit ?? 's');
      if (seconds === undefined || (s.positive && seconds <= 0)) {
        return bad(`expected ${s.positive ? 'a duration > 0' : 'a duration'}: ${DURATION_SYNTAX}`);
      }
      return s.unit === 'ms' ? Math.round(seconds * 1000) : seconds;
    }
    case 'fraction': {
      const n = number();
      return Number.isFinite(n) && n > 0 && n <= 1 ? n : bad('expected a share in (0, 1]');
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

function validate(c: Config, opts: { postgres?: boolean }): void {
  if (c.active > 65_536) throw new ConfigError(`--active: at most 65536 (got ${c.active})`);
  if (c.maxMessages < 1) throw new ConfigError('--max-messages: at least 1');
  if (c.passive && c.port === 0) throw new ConfigError('--port: the listener needs a port (got 0)');
  if (c.flushIntervalMs < 1) throw new ConfigError('--flush-interval: at least 1ms');
  // a URL would become a folder named "postgres:" holding a SQLite file
  if (isDatabaseUrl(c.db) && !(opts.postgres && /^postgres(ql)?:\/\//i.test(c.db))) {
    throw new ConfigError(opts.postgres
      ? `--db: ${c.db.split(':')[0]} URLs are not supported; btda stores into a SQLite file or postgres://user:password@host/db`
      : `--db: ${c.db.split(':')[0]} URLs are not supported by this command yet; it needs a SQLite file (--db path/to/file.sqlite)`);
  }
  try {
    Shard.parse(c.shard);
  } catch (err) {
    if (err instanceof ShardError) throw new ConfigError(err.message);
    throw err;
  }
  if (c.exclude) {
    try {
      readExcludeFile(c.exclude); // read again at the start of the crawl; here so that a bad line is a usage error
    } catch (err) {
      if (err instanceof AddressListError) throw new ConfigError(err.message);
      throw err;
    }
  }
}
