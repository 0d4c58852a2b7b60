// Where an address is: its country (and with a MaxMind City file its continent and city) and its network
// (autonomous system number and organisation). Out of the box both come from offline databases that npm
// packages ship, so nothing needs setting up:
//   country: @ip-location-db/geo-whois-asn-country-mmdb (CC0; GeoFeed + RIR whois + ASN data of the NRO)
//   network: @ip-location-db/asn (CC BY 4.0: RouteViews, the RIRs via the NRO, DB-IP IP-to-ASN Lite)
// `--geoip FILE` still takes a MaxMind City or Country .mmdb; `--geoip none` turns country lookups off.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import maxmind, { type CityResponse, type Reader } from 'maxmind';
import { AsnTable, NO_NETWORK, type Network } from './asn-table.ts';
import { ipv4Of } from './peer-identity.ts';

export type { Network } from './asn-table.ts';

export interface Place {
  country: string | null;
  continent: string | null;
  city: string | null;
}

/** Which database answered: named in the report, with its date, since its answers change as it is updated. */
export interface DatabaseInfo {
  name: string;
  /** Build date of the data, YYYY-MM-DD. */
  date: string | null;
  licence: string;
}

const NOWHERE: Place = Object.freeze({ country: null, continent: null, city: null });
const require = createRequire(import.meta.url);

export const BUILTIN_COUNTRY_PACKAGE = '@ip-location-db/geo-whois-asn-country-mmdb';
export const BUILTIN_ASN_PACKAGE = '@ip-location-db/asn';

/** The file of a package that npm installed next to btda. */
function packageFile(pkg: string, file: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), file);
}

function packageVersionDate(pkg: string): string | null {
  // their versions end in the build time: 2.3.2026061719 → 2026-06-17
  const v = JSON.parse(readFileSync(packageFile(pkg, 'package.json'), 'utf8')).version as string;
  const m = /(\d{4})(\d{2})(\d{2})\d{2}$/.exec(v);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** The ASN table is ~60 MB of CSV: read once per process, and only by whoever asks for networks. */
let asnCache: { table: AsnTable; info: DatabaseInfo } | null = null;
function builtinAsn(): { table: AsnTable; info: DatabaseInfo } {
  if (!asnCache) {
    const table = AsnTable.load(packageFile(BUILTIN_ASN_PACKAGE, 'asn-ipv4-num.csv'), packageFile(BUILTIN_ASN_PACKAGE, 'asn-ipv6-num.csv'));
    asnCache = {
      table,
      info: { name: `${BUILTIN_ASN_PACKAGE} (RouteViews, NRO, DB-IP IP-to-ASN Lite)`, date: packageVersionDate(BUILTIN_ASN_PACKAGE), licence: 'CC BY 4.0' },
    };
  }
  return asnCache;
}

export class Geolocator {
  private constructor(
    private readonly reader: Reader<CityResponse & { country_code?: string }> | null,
    /** The country database, or null when lookups are off. */
    readonly countryDatabase: DatabaseInfo | null,
    private readonly asn: AsnTable | null,
    /** The network database, or null when not opened. */
    readonly networkDatabase: DatabaseInfo | null,
  ) {}

  /**
   * `path`: a MaxMind City/Country .mmdb; '' = the built-in country database; 'none' = no country lookups.
   * `networks`: also load the ASN table (a second or two, ~10 MB). A broken file: a clear error naming it.
   */
  static async open(path: string, opts: { networks?: boolean } = {}): Promise<Geolocator> {
    const net = opts.networks ? builtinAsn() : null;
    if (path === 'none') return new Geolocator(null, null, net?.table ?? null, net?.info ?? null);
    const builtin = path === '';
    const file = builtin ? packageFile(BUILTIN_COUNTRY_PACKAGE, 'geo-whois-asn-country.mmdb') : path;
    try {
      const reader = await maxmind.open<CityResponse & { country_code?: string }>(file, { watchForUpdates: false });
      // a corrupt search tree only shows on lookup: probe once so the user hears of it at start
      reader.get('81.2.69.142');
      reader.get('2001:218::1');
      const built = reader.metadata.buildEpoch;
      const date = built instanceof Date && !Number.isNaN(built.getTime()) ? built.toISOString().slice(0, 10) : null;
      const info: DatabaseInfo = builtin
        ? { name: `${BUILTIN_COUNTRY_PACKAGE} (GeoFeed, RIR whois, ASN)`, date: date ?? packageVersionDate(BUILTIN_COUNTRY_PACKAGE), licence: 'CC0 1.0 (data of the NRO, CC BY 4.0)' }
        : { name: `${path} (${reader.metadata.databaseType})`, date, licence: 'as the file\'s vendor states' };
      return new Geolocator(reader, info, net?.table ?? null, net?.info ?? null);
    } catch (err) {
      throw new Error(`cannot read GeoIP database ${file}: ${(err as Error).message}`);
    }
  }

  /** Nothing looked up (benchmarks, tests that want no country). */
  static none(): Geolocator {
    return new Geolocator(null, null, null, null);
  }

  locate(ip: string): Place {
    if (!this.reader) return NOWHERE;
    let r: (CityResponse & { country_code?: string }) | null;
    try {
      r = this.reader.get(ipv4Of(ip) ?? ip);
    } catch {
      return NOWHERE; // not an IP address the database understands
    }
    if (!r) return NOWHERE;
    return {
      // MaxMind files have country.iso_code; the ip-location-db files a flat country_code
      country: r.country?.iso_code ?? r.registered_country?.iso_code ?? r.country_code ?? null,
      continent: r.continent?.code ?? null,
      city: r.city?.names?.en ?? null,
    };
  }

  /** The autonomous system of an address (null fields without the table or for unrouted addresses). */
  network(ip: string): Network {
    return this.asn ? this.asn.lookup(ip) : NO_NETWORK;
  }
}
