// The peer tables: clients, countries (thesis 4.4.1 speed per country and the map's counts), networks
// (4.4.3) and the speed distribution. Countries and networks come from one pass over the peers, so that a
// peer's country or network looked up now (see ReportOptions.geo) counts the same in every table.
import { createRequire } from 'node:module';
import countryNames from 'i18n-iso-countries';
import type { Geolocator, Network } from '../../store/geolocation.ts';
import { confirmedPerClient, eachPeerToTally, evaluatedPerClient, hasStoredNetworks, peersEvaluated, type PeerTallyRow } from '../../store/queries/peers.ts';
import type { Reader } from '../../store/queries/reader.ts';
import { byText, countMap, type Params } from './shared.ts';
import { mean, quantile, speedReport, stddev } from './stats.ts';
import type { ClientReport, CountryReport, CountrySpeedReport, NetworkReport, Report } from './types.ts';

const require = createRequire(import.meta.url);
countryNames.registerLocale(require('i18n-iso-countries/langs/en.json'));

/** "GB" → "United Kingdom"; null for "unknown" and codes the list lacks. */
export function countryName(code: string): string | null {
  return code === 'unknown' ? null : (countryNames.getName(code, 'en') ?? null);
}

export async function buildClients(r: Reader, p: Params, top: number): Promise<ClientReport[]> {
  const evaluatedTotal = await peersEvaluated(r, p);
  const confirmedByClient = countMap(await confirmedPerClient(r, p));
  return (await evaluatedPerClient(r, p))
    .sort((a, b) => b.n - a.n || byText(a.client, b.client))
    .slice(0, top)
    .map((x) => ({
      client: x.client, peers: x.n, share: x.n / evaluatedTotal, confirmed: confirmedByClient.get(x.client) ?? 0, encrypted: x.encrypted,
    }));
}

/** "81.2.69.0/24" → "81.2.69.0": the anonymized address still tells its network (ASes and countries are ≥ /24). */
export function networkAddress(address: string): string | null {
  const slash = address.indexOf('/');
  return slash > 0 ? address.slice(0, slash) : null;
}

type PeerRow = PeerTallyRow;

interface Tally {
  peers: number;
  evaluated: number;
  seeds: number;
  confirmed: number;
}

const tally = (): Tally => ({ peers: 0, evaluated: 0, seeds: 0, confirmed: 0 });

export async function buildPeerTables(r: Reader, p: Params, opts: { top: number; minPeersPerCountry: number; geo?: Geolocator }):
  Promise<Pick<Report, 'countries' | 'confirmedByCountry' | 'countrySpeeds' | 'networks' | 'speeds'>> {
  const { geo, top } = opts;
  // peers.asn / peers.as_org, once the store has them, win over a lookup now
  const storedAsn = await hasStoredNetworks(r);
  const places = new Map<string, string | null>();
  const networks = new Map<string, Network>();
  const lookupKey = (x: PeerRow) => x.ip ?? networkAddress(x.address);
  const countryOf = (x: PeerRow): string => {
    if (x.country) return x.country;
    const key = lookupKey(x);
    if (!geo || key === null) return 'unknown';
    let c = places.get(key);
    if (c === undefined) places.set(key, (c = geo.locate(key).country));
    return c ?? 'unknown';
  };
  const networkOf = (x: PeerRow): Network => {
    if (x.asn !== null) return { asn: x.asn, org: x.as_org };
    const key = lookupKey(x);
    if (!geo || key === null) return { asn: null, org: null };
    let n = networks.get(key);
    if (n === undefined) networks.set(key, (n = geo.network(key)));
    return n;
  };

  const byCountry = new Map<string, Tally>();
  const byNetwork = new Map<string, Tally & { asn: number | null; org: string | null; countries: Map<string, number> }>();
  const speedsByCountry = new Map<string, number[]>();
  const allSpeeds: number[] = [];
  const confirmedByCountry: Record<string, number> = {};
  let discoveredTotal = 0;
  await eachPeerToTally(r, p, storedAsn, (row) => {
    const country = countryOf(row);
    const net = networkOf(row);
    const netKey = net.asn === null ? 'unknown' : String(net.asn);
    const c = byCountry.get(country) ?? tally();
    byCountry.set(country, c);
    let n = byNetwork.get(netKey);
    if (!n) byNetwork.set(netKey, (n = { ...tally(), asn: net.asn, org: net.org, countries: new Map() }));
    if (row.discovered) {
      discoveredTotal++;
      c.peers++;
      n.peers++;
      n.countries.set(country, (n.countries.get(country) ?? 0) + 1);
      if (row.evaluated) {
        c.evaluated++;
        n.evaluated++;
        if (row.seed) n.seeds++;
      }
    }
    if (row.confirmed) {
      c.confirmed++;
      n.confirmed++;
      confirmedByCountry[country] = (confirmedByCountry[country] ?? 0) + 1;
    }
    if (row.evaluated && row.max_speed !== null && row.max_speed > 0) {
      allSpeeds.push(row.max_speed);
      const list = speedsByCountry.get(country) ?? [];
      list.push(row.max_speed);
      speedsByCountry.set(country, list);
    }
  });
  for (const list of speedsByCountry.values()) list.sort((a, b) => a - b);
  allSpeeds.sort((a, b) => a - b);

  const countries: CountryReport[] = [...byCountry.entries()]
    .filter(([, t]) => t.peers > 0)
    .sort(([a, x], [b, y]) => y.peers - x.peers || a.localeCompare(b))
    .slice(0, top)
    .map(([country, t]) => ({
      country, name: countryName(country), peers: t.peers, share: t.peers / discoveredTotal, evaluated: t.evaluated, confirmed: t.confirmed,
      medianSpeed: quantile(speedsByCountry.get(country) ?? [], 0.5),
    }));

  const countrySpeeds: CountrySpeedReport[] = [...speedsByCountry.entries()]
    .filter(([country, v]) => country !== 'unknown' && v.length >= opts.minPeersPerCountry)
    .map(([country, v]) => ({
      country, name: countryName(country), peers: v.length, median: quantile(v, 0.5)!, mean: mean(v)!, stddev: stddev(v)!, min: v[0], max: v[v.length - 1],
    }))
    .sort((a, b) => b.median - a.median || a.country.localeCompare(b.country));

  const networkRows: NetworkReport[] = [...byNetwork.values()]
    .filter((t) => t.peers > 0)
    .sort((a, b) => b.peers - a.peers || b.confirmed - a.confirmed || (a.asn ?? Infinity) - (b.asn ?? Infinity))
    .slice(0, top)
    .map((t) => ({
      asn: t.asn, org: t.org, peers: t.peers, share: t.peers / discoveredTotal, evaluated: t.evaluated, seeds: t.seeds, confirmed: t.confirmed,
      country: [...t.countries.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))[0]?.[0] ?? null,
    }));

  // nothing to tell networks apart by: no table rather than one row of 'unknown'
  return { countries, confirmedByCountry, countrySpeeds, networks: geo || storedAsn ? networkRows : [], speeds: speedReport(allSpeeds) };
}
