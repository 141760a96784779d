import { nullTranslator } from '@jupyterlab/translation';

// The real apputils and ui-components pull in ES-module web components jest does not
// transform here; these helpers need neither.
jest.mock('@jupyterlab/apputils', () => ({}));
jest.mock('@jupyterlab/ui-components', () => ({}));

import { detailRows, overviewHref } from '../components/ItemDetails';
import { IItem } from '../tokens';

const trans = nullTranslator.load('eo_jlab');

function item(
  properties: IItem['properties'],
  assets: IItem['assets'] = {}
): IItem {
  return {
    type: 'Feature',
    id: 'x',
    geometry: null,
    bbox: null,
    properties,
    assets,
    thumbnail: null
  } as IItem;
}

describe('detailRows', () => {
  it('shows tile, orbit with its direction and processing level of a STAC item', () => {
    const rows = detailRows(
      item({
        collection: 'sentinel-2-l2a',
        's2:mgrs_tile': '31TCJ',
        relative_orbit: 51,
        'sat:orbit_state': 'descending',
        'sat:absolute_orbit': 42000,
        'processing:level': 'L2A',
        's2:processing_baseline': '05.11',
        cloud_cover: 0
      }),
      trans
    );
    expect(rows).toEqual([
      ['Id', 'x'],
      ['Collection', 'sentinel-2-l2a'],
      ['Cloud cover', '0'],
      ['Tile', '31TCJ'],
      ['Relative orbit', '51 (descending)'],
      ['Absolute orbit', '42000'],
      ['Processing level', 'L2A'],
      ['Processing baseline', '05.11']
    ]);
  });

  it('builds the tile from mgrs:* or Landsat path/row, reads OpenSearch names', () => {
    const mgrs = detailRows(
      item({
        'mgrs:utm_zone': 31,
        'mgrs:latitude_band': 'T',
        'mgrs:grid_square': 'CJ',
        orbit_direction: 'ASCENDING',
        processing_level: 'LEVEL1'
      }),
      trans
    );
    expect(mgrs).toContainEqual(['Tile', '31TCJ']);
    expect(mgrs).toContainEqual(['Orbit direction', 'ASCENDING']);
    expect(mgrs.map(([label]) => label)).not.toContain('Relative orbit');
    expect(mgrs).toContainEqual(['Processing level', 'LEVEL1']);
    const landsat = detailRows(
      item({ 'landsat:wrs_path': '198', 'landsat:wrs_row': '030' }),
      trans
    );
    expect(landsat).toContainEqual(['Tile', '198/030']);
  });

  it('leaves out what the item does not have', () => {
    expect(detailRows(item({ platform: '' }), trans)).toEqual([['Id', 'x']]);
  });
});

describe('overviewHref', () => {
  it('prefers the overview, then the visual asset, then the thumbnail', () => {
    const assets = {
      thumbnail: { href: 't.png', roles: ['thumbnail'] },
      visual: { href: 'v.png', roles: ['visual'] },
      overview: { href: 'o.png', roles: ['overview'] }
    };
    expect(overviewHref(item({}, assets))).toBe('o.png');
    const { overview, ...rest } = assets;
    void overview;
    expect(overviewHref(item({}, rest))).toBe('v.png');
    expect(overviewHref({ ...item({}), thumbnail: 't.png' } as IItem)).toBe(
      't.png'
    );
    expect(overviewHref(item({}))).toBeNull();
  });
});
