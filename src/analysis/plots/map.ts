// The world map of confirmed downloads per country: Natural Earth 1:110m country shapes from the world-atlas
// package (public domain data, ISC), drawn into the SVG on the server; nothing is fetched when the page opens.
import { createRequire } from 'node:module';
import countryCodes from 'i18n-iso-countries';
import type { TopLevelSpec } from 'vega-lite';
import type { Report } from '../report.ts';
import { countryName } from '../report/peers.ts';
import { noData } from './render.ts';

const require = createRequire(import.meta.url);

interface Topology {
  type: 'Topology';
  objects: { countries: { type: 'GeometryCollection'; geometries: { id?: string; properties: { name: string } }[] } };
}

let world: Topology | null = null;
/** The world's countries without Antarctica (no peers, a fifth of the drawing). */
function worldTopology(): Topology {
  if (!world) {
    const t = structuredClone(require('world-atlas/countries-110m.json')) as Topology;
    t.objects.countries.geometries = t.objects.countries.geometries.filter((g) => g.id !== '010');
    world = t;
  }
  return world;
}

export interface MapData {
  /** ISO 3166-1 numeric (the shapes' id), alpha-2, name, confirmed downloads. */
  shown: { id: string; code: string; name: string; confirmed: number }[];
  /** Countries with downloads that the 1:110m map has no shape for (small islands, city states). */
  notDrawn: { code: string; confirmed: number }[];
  unknown: number;
}

export function mapData(report: Report): MapData {
  const ids = new Set(worldTopology().objects.countries.geometries.map((g) => g.id).filter((id): id is string => !!id));
  const out: MapData = { shown: [], notDrawn: [], unknown: 0 };
  for (const [code, confirmed] of Object.entries(report.confirmedByCountry)) {
    if (code === 'unknown') {
      out.unknown = confirmed;
      continue;
    }
    const id = countryCodes.alpha2ToNumeric(code);
    if (id && ids.has(id)) out.shown.push({ id, code, name: countryName(code) ?? code, confirmed });
    else out.notDrawn.push({ code, confirmed });
  }
  out.shown.sort((a, b) => b.confirmed - a.confirmed || a.code.localeCompare(b.code));
  out.notDrawn.sort((a, b) => b.confirmed - a.confirmed || a.code.localeCompare(b.code));
  return out;
}

export function mapSpec(report: Report): TopLevelSpec {
  const title = 'Confirmed downloads per country';
  const d = mapData(report);
  if (d.shown.length === 0 && d.notDrawn.length === 0) {
    return noData(title, d.unknown > 0 ? `${d.unknown} confirmed downloads, none with a known country` : 'no confirmed downloads in this window');
  }
  const notes = [
    ...(d.notDrawn.length > 0 ? [`not on this scale: ${d.notDrawn.map((c) => `${c.code} ${c.confirmed}`).join(', ')}`] : []),
    ...(d.unknown > 0 ? [`country unknown: ${d.unknown}`] : []),
  ];
  const max = Math.max(...d.shown.map((s) => s.confirmed), 1);
  const countries = { values: worldTopology(), format: { type: 'topojson', feature: 'countries' } };
  return {
    title: { text: title, subtitle: ['by crossed_at in the window; grey: none', ...notes].join('; ') },
    width: 760,
    height: 380,
    projection: { type: 'equalEarth' },
    layer: [
      { data: countries, mark: { type: 'geoshape', fill: '#e4e4e4', stroke: 'white', strokeWidth: 0.5 } },
      {
        data: countries,
        transform: [
          { lookup: 'id', from: { data: { values: d.shown }, key: 'id', fields: ['confirmed', 'name', 'code'] } },
          { filter: 'datum.confirmed > 0' },
        ],
        mark: { type: 'geoshape', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          color: {
            field: 'confirmed', type: 'quantitative', title: 'confirmed downloads',
            // a log scale once counts span two decades, so one big country does not wash out the rest
            scale: { scheme: 'orangered', type: max >= 100 ? 'log' : 'linear', domainMin: max >= 100 ? 1 : 0 },
            legend: { format: ',d', gradientLength: 220 },
          },
          tooltip: [{ field: 'name', title: 'country' }, { field: 'confirmed', title: 'confirmed downloads' }],
        },
      },
    ],
  } as TopLevelSpec;
}
