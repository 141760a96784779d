import { TranslationBundle } from '@jupyterlab/translation';

import {
  filterFields,
  filterLabel,
  humanise,
  niceStep,
  sliderRange
} from '../models/filters';
import { IQueryables } from '../tokens';

/** The queryables `eo-jlab demo` answers for its Sentinel-2 collection (titles = names). */
const DEMO_S2: IQueryables = {
  properties: {
    area: {
      type: 'string',
      title: 'area',
      enum: ['Berlin', 'Lisbon', 'Nairobi', 'Po Valley', 'Rome', 'Toulouse']
    },
    cloud_cover: {
      type: 'number',
      title: 'cloud_cover',
      minimum: 0.0,
      maximum: 95.06
    },
    constellation: {
      type: 'string',
      title: 'constellation',
      enum: ['sentinel-2']
    },
    instrument: { type: 'string', title: 'instrument', enum: ['msi'] },
    'mgrs:grid_square': {
      type: 'string',
      title: 'mgrs:grid_square',
      enum: ['BU', 'CJ', 'MC', 'NR', 'TG', 'UU']
    },
    'mgrs:latitude_band': {
      type: 'string',
      title: 'mgrs:latitude_band',
      enum: ['M', 'S', 'T', 'U']
    },
    'mgrs:utm_zone': {
      type: 'integer',
      title: 'mgrs:utm_zone',
      minimum: 29,
      maximum: 37
    },
    platform: {
      type: 'string',
      title: 'platform',
      enum: ['sentinel-2a', 'sentinel-2b']
    },
    'processing:level': {
      type: 'string',
      title: 'processing:level',
      enum: ['L2A']
    },
    product_type: { type: 'string', title: 'product_type', enum: ['S2MSI2A'] },
    relative_orbit: {
      type: 'integer',
      title: 'relative_orbit',
      minimum: 22,
      maximum: 122
    },
    's2:mgrs_tile': {
      type: 'string',
      title: 's2:mgrs_tile',
      enum: ['29SMC', '31TCJ', '32TNR', '33TTG', '33UUU', '37MBU']
    }
  }
};

describe('filter labels', () => {
  it.each([
    ['s2:mgrs_tile', 'MGRS tile'],
    ['cloud_cover', 'Cloud cover'],
    ['eo:cloud_cover', 'Cloud cover'],
    ['mgrs:utm_zone', 'UTM zone'],
    ['sat:relative_orbit', 'Relative orbit'],
    ['relative_orbit', 'Relative orbit'],
    ['processing:level', 'Processing level'],
    ['product:type', 'Product type'],
    ['orbitDirection', 'Orbit direction'],
    ['sar:instrument_mode', 'Instrument mode'],
    ['view:off_nadir', 'Off nadir'],
    ['platform', 'Platform'],
    ['proj:epsg', 'Projection EPSG'],
    ['sat:anx_datetime', 'Anx datetime']
  ])('humanises %s as "%s"', (name, label) => {
    expect(humanise(name)).toBe(label);
  });

  it("prefers the catalogue's own title, unless it only repeats the name", () => {
    expect(
      filterLabel('eo:cloud_cover', {
        type: 'number',
        title: 'Cloud Cover (%)'
      })
    ).toBe('Cloud Cover (%)');
    expect(filterLabel('s2:mgrs_tile', { title: 's2:mgrs_tile' })).toBe(
      'MGRS tile'
    );
    // A common filter reads as its group: the orbit state is the orbit direction.
    expect(filterLabel('sat:orbit_state', { title: 'sat:orbit_state' })).toBe(
      'Orbit direction'
    );
  });

  it('translates the common labels', () => {
    const trans = {
      __: (text: string) => `«${text}»`
    } as unknown as TranslationBundle;
    expect(filterLabel('cloud_cover', {}, trans)).toBe('«Cloud cover»');
    expect(filterLabel('s2:mgrs_tile', {}, trans)).toBe('MGRS tile');
  });
});

describe('slider range and step', () => {
  it('runs 0-100 in whole steps for cloud cover, whatever the items reached', () => {
    expect(
      sliderRange('cloud_cover', { type: 'number', minimum: 0, maximum: 95.06 })
    ).toEqual({ min: 0, max: 100, step: 1 });
    // No range given at all: still a percentage.
    expect(sliderRange('eo:cloud_cover', { type: 'number' })).toEqual({
      min: 0,
      max: 100,
      step: 1
    });
  });

  it('treats other percentages as 0-100, but not fractions', () => {
    expect(
      sliderRange('s2:water_percentage', {
        type: 'number',
        minimum: 0,
        maximum: 64.2
      })
    ).toEqual({ min: 0, max: 100, step: 1 });
    expect(
      sliderRange('snow_cover', { type: 'number', minimum: 0, maximum: 0.8 })
    ).toEqual({ min: 0, max: 0.8, step: 0.01 });
  });

  it('widens other ranges to a round step, whole numbers for integers', () => {
    expect(
      sliderRange('relative_orbit', {
        type: 'integer',
        minimum: 22,
        maximum: 122
      })
    ).toEqual({ min: 22, max: 122, step: 1 });
    expect(
      sliderRange('mgrs:utm_zone', {
        type: 'integer',
        minimum: 29,
        maximum: 37
      })
    ).toEqual({ min: 29, max: 37, step: 1 });
    expect(
      sliderRange('sun_elevation', {
        type: 'number',
        minimum: 12.34,
        maximum: 61.7
      })
    ).toEqual({ min: 12, max: 62, step: 0.5 });
    expect(
      sliderRange('gsd', { type: 'number', minimum: 0.013, maximum: 0.987 })
    ).toEqual({ min: 0.01, max: 0.99, step: 0.01 });
    expect(
      sliderRange('absolute_orbit', {
        type: 'integer',
        minimum: 1043,
        maximum: 52017
      })
    ).toEqual({ min: 1000, max: 53000, step: 1000 });
    // Binary noise does not move the ends: 0.29 / 0.01 is 28.999999999999996.
    expect(
      sliderRange('gsd', { type: 'number', minimum: 0.29, maximum: 1.14 })
    ).toEqual({ min: 0.29, max: 1.14, step: 0.01 });
    // One value only: a step either side, so the slider can move.
    expect(
      sliderRange('view:azimuth', { type: 'number', minimum: 7, maximum: 7 })
    ).toEqual({ min: 6, max: 8, step: 1 });
    expect(sliderRange('gsd', { type: 'number' })).toBeNull();
  });

  it.each([
    [0.95, 1],
    [0.4934, 0.5],
    [0.0123, 0.02],
    [5.1, 10],
    [2, 2],
    [510, 1000],
    [0, 1]
  ])('rounds a step of %d up to %d', (rough, step) => {
    expect(niceStep(rough)).toBe(step);
  });
});

describe('common filters and "More filters"', () => {
  it("shows the demo's cloud cover and platform; the rest wait, by label", () => {
    const { common, more } = filterFields(DEMO_S2);
    expect(common.map(f => [f.name, f.label, f.kind])).toEqual([
      ['cloud_cover', 'Cloud cover', 'range'],
      ['platform', 'Platform', 'choice']
    ]);
    expect(common[0]).toMatchObject({
      min: 0,
      max: 100,
      step: 1,
      percent: true
    });
    // A list of one value cannot narrow a search: product type waits with the rest.
    expect(more.map(f => f.label)).toEqual([
      'Area',
      'Constellation',
      'Grid square',
      'Instrument',
      'Latitude band',
      'MGRS tile',
      'Processing level',
      'Product type',
      'Relative orbit',
      'UTM zone'
    ]);
  });

  it('keeps the common order, one field per group, and skips what it cannot offer', () => {
    const { common, more } = filterFields({
      properties: {
        'sat:orbit_state': {
          type: 'string',
          enum: ['ascending', 'descending']
        },
        'eo:cloud_cover': { type: 'number' },
        cloud_cover: { type: 'number', minimum: 0, maximum: 100 },
        productType: { type: 'string', enum: ['GRD', 'SLC'] },
        title: { type: 'string' },
        gsd: { type: 'number' }
      }
    });
    expect(common.map(f => f.name)).toEqual([
      'eo:cloud_cover',
      'productType',
      'sat:orbit_state'
    ]);
    expect(common.map(f => f.label)).toEqual([
      'Cloud cover',
      'Product type',
      'Orbit direction'
    ]);
    // The second cloud cover waits; a number without a range is typed only; a free text
    // queryable is not offered.
    expect(more.map(f => [f.name, f.kind])).toEqual([
      ['cloud_cover', 'range'],
      ['gsd', 'number']
    ]);
    expect(filterFields(null)).toEqual({ common: [], more: [] });
  });
});
