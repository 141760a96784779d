import * as api from '../api';
import { SearchModel } from '../models/search';
import { IItem, ISearchPage } from '../tokens';

jest.mock('../api', () => {
  const actual = jest.requireActual('../api');
  return {
    ...actual,
    getCollections: jest.fn(),
    getQueryables: jest.fn(),
    searchCatalogue: jest.fn()
  };
});

const searchCatalogue = api.searchCatalogue as jest.MockedFunction<
  typeof api.searchCatalogue
>;
const getCollections = api.getCollections as jest.MockedFunction<
  typeof api.getCollections
>;
const getQueryables = api.getQueryables as jest.MockedFunction<
  typeof api.getQueryables
>;

function item(id: string): IItem {
  return {
    type: 'Feature',
    id,
    geometry: null,
    bbox: null,
    properties: { title: id },
    assets: {},
    links: [],
    thumbnail: null,
    source: { catalogue: 'demo', protocol: 'static', href: null }
  };
}

function page(
  ids: string[],
  next: string | null,
  total: number | null
): ISearchPage {
  return {
    type: 'FeatureCollection',
    features: ids.map(item),
    next_page_token: next,
    number_matched: total
  };
}

beforeEach(() => {
  searchCatalogue.mockReset();
  getCollections.mockResolvedValue({
    collections: [{ id: 's2', title: 'S2', description: '', extent: {} }]
  });
  getQueryables.mockResolvedValue({
    properties: {
      cloud_cover: { type: 'number', minimum: 0, maximum: 100 },
      platform: { type: 'string', enum: ['a', 'b'] }
    }
  });
});

describe('SearchModel', () => {
  it('builds the contract body from the form, sending only supported filters', async () => {
    const model = new SearchModel(25);
    await model.setCatalogue('demo');
    await model.setCollection('s2');
    model.update({ q: '  Berlin ', start: '2025-01-01', end: '' });
    model.update({ area: { kind: 'bbox', bbox: [1, 2, 3, 4] } });
    model.setFilter('cloud_cover', { lte: 20 });
    model.setFilter('not_a_queryable', 'x');
    model.setFilter('platform', undefined);
    expect(model.request()).toEqual({
      limit: 25,
      count: true,
      collections: ['s2'],
      q: 'Berlin',
      datetime: '2025-01-01T00:00:00Z/..',
      bbox: [1, 2, 3, 4],
      filters: { cloud_cover: { lte: 20 } }
    });
    model.update({
      area: {
        kind: 'geometry',
        geometry: { type: 'Point', coordinates: [1, 2] }
      }
    });
    expect(model.request().intersects).toEqual({
      type: 'Point',
      coordinates: [1, 2]
    });
    expect(model.request().bbox).toBeUndefined();
  });

  it('pages with the token, appending, and the same body', async () => {
    const model = new SearchModel(2);
    await model.setCatalogue('demo');
    searchCatalogue
      .mockResolvedValueOnce(page(['a', 'b'], 'T1', 3))
      .mockResolvedValueOnce(page(['c'], null, 3));
    await model.search();
    expect(model.results.map(i => i.id)).toEqual(['a', 'b']);
    expect(model.hasMore).toBe(true);
    model.update({ q: 'changed after the search' });
    await model.loadMore();
    expect(searchCatalogue.mock.calls[1]).toEqual([
      'demo',
      { limit: 2, count: true, page_token: 'T1' }
    ]);
    expect(model.results.map(i => i.id)).toEqual(['a', 'b', 'c']);
    expect(model.hasMore).toBe(false);
    expect(model.numberMatched).toBe(3);
  });

  it('keeps the error sentence and the previous results', async () => {
    const model = new SearchModel();
    await model.setCatalogue('demo');
    searchCatalogue.mockResolvedValueOnce(page(['a'], null, null));
    await model.search();
    searchCatalogue.mockRejectedValueOnce(
      new api.EOJLabRequestError(
        'The service did not answer within 30 seconds.',
        504
      )
    );
    await model.search();
    expect(model.error).toBe('The service did not answer within 30 seconds.');
    expect(model.results.map(i => i.id)).toEqual(['a']);
    expect(model.busy).toBe(false);
  });

  it('asks for a catalogue before searching', async () => {
    const model = new SearchModel();
    await model.search();
    expect(model.error).toBe('Choose a catalogue first.');
    expect(searchCatalogue).not.toHaveBeenCalled();
  });

  it('selection and hover signal the map', async () => {
    const model = new SearchModel();
    await model.setCatalogue('demo');
    searchCatalogue.mockResolvedValueOnce(page(['a', 'b'], null, 2));
    await model.search();
    let highlights = 0;
    model.highlightChanged.connect(() => highlights++);
    model.hover('a');
    model.select('b');
    expect(model.selected?.id).toBe('b');
    expect(model.hoveredId).toBe('a');
    expect(highlights).toBe(2);
  });
});
