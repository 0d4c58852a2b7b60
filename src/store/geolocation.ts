// Country, continent and city of an address from a MaxMind .mmdb file (City or Country database).
import maxmind, { type CityResponse, type Reader } from 'maxmind';

export interface Place {
  country: string | null;
  continent: string | null;
  city: string | null;
}

const NOWHERE: Place = Object.freeze({ country: null, continent: null, city: null });

export class Geolocator {
  private constructor(private readonly reader: Reader<CityResponse> | null) {}

  /** No file: every lookup answers nulls. A broken file: a clear error naming it. */
  static async open(path: string): Promise<Geolocator> {
    if (!path) return new Geolocator(null);
    try {
      const reader = await maxmind.open<CityResponse>(path, { watchForUpdates: false });
      // a corrupt search tree only shows on lookup: probe once so the user hears of it at start
      reader.get('81.2.69.142');
      reader.get('2001:218::1');
      return new Geolocator(reader);
    } catch (err) {
      throw new Error(`cannot read GeoIP database ${path}: ${(err as Error).message}`);
    }
  }

  locate(ip: string): Place {
    if (!this.reader) return NOWHERE;
    let r: CityResponse | null;
    try {
      r = this.reader.get(ip);
    } catch {
      return NOWHERE; // not an IP address the database understands
    }
    if (!r) return NOWHERE;
    return {
      country: r.country?.iso_code ?? r.registered_country?.iso_code ?? null,
      continent: r.continent?.code ?? null,
      city: r.city?.names?.en ?? null,
    };
  }
}
