import { StateDB } from '@jupyterlab/statedb';

import * as api from '../api';
import { SearchModel } from '../models/search';
import {
  parseSnapshot,
  SEARCH_STATE_KEY,
  SearchState
} from '../models/searchState';
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

describe('the collection box (issue 19, bug 4)', () => {
  beforeEach(() => {
    getQueryables.mockClear();
    getCollections.mockResolvedValue({
      collections: [
        { id: 's2', title: 'S2', description: '', extent: {} },
        { id: 's2-l1c', title: 'S2 L1C', description: '', extent: {} }
      ]
    });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('asks queryables once, for a listed id, after the box rests', async () => {
    const model = new SearchModel(20, { queryablesDelay: 300 });
    await model.setCatalogue('demo');
    jest.useFakeTimers();
    // Typed letter by letter, 50 ms apart: "s2" is listed but typing goes on.
    for (const text of ['s', 's2', 's2-', 's2-l', 's2-l1', 's2-l1c']) {
      void model.setCollection(text);
      await jest.advanceTimersByTimeAsync(50);
    }
    expect(getQueryables).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(250);
    expect(getQueryables.mock.calls).toEqual([['demo', 's2-l1c']]);
    expect(model.queryables?.properties).toHaveProperty('cloud_cover');
    expect(model.collectionUnknown).toBe(false);
  });

  it('never asks for an id the catalogue does not list, and says so once it rests', async () => {
    const model = new SearchModel(20, { queryablesDelay: 300 });
    await model.setCatalogue('demo');
    jest.useFakeTimers();
    void model.setCollection('sentinel-9');
    await jest.advanceTimersByTimeAsync(100);
    expect(model.collectionUnknown).toBe(false);
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.collectionUnknown).toBe(true);
    expect(model.queryables).toBeNull();
    expect(getQueryables).not.toHaveBeenCalled();
    // The search still asks for it as typed (the server answers with a sentence).
    expect(model.request().collections).toEqual(['sentinel-9']);
    // Emptied: all collections, nothing unknown.
    await model.setCollection('');
    expect(model.form.collection).toBeNull();
    expect(model.collectionUnknown).toBe(false);
    expect(getQueryables).not.toHaveBeenCalled();
  });

  it('a catalogue that lists no collection cannot call an id unknown', async () => {
    getCollections.mockResolvedValue({ collections: [] });
    const model = new SearchModel(20, { queryablesDelay: 0 });
    await model.setCatalogue('demo');
    await model.setCollection('anything');
    expect(model.collectionUnknown).toBe(false);
    expect(getQueryables).not.toHaveBeenCalled();
  });
});

describe('the search across reloads (issue 19, friction 11)', () => {
  const FORM = {
    q: 'Toulouse',
    start: '2025-02-01',
    end: '2025-05-31',
    area: { kind: 'bbox', bbox: [0.9, 43.5, 1.5, 43.9] } as const
  };

  /** A model with a search done: demo, s2, text, dates, area, cloud cover <= 30, b selected. */
  async function searched(): Promise<SearchModel> {
    const model = new SearchModel(10, { queryablesDelay: 0 });
    await model.setCatalogue('demo');
    await model.setCollection('s2');
    model.update({
      ...FORM,
      area: { ...FORM.area, bbox: [...FORM.area.bbox] }
    });
    model.setFilter('cloud_cover', { lte: 30 });
    searchCatalogue.mockResolvedValueOnce(page(['a', 'b', 'c'], 'T1', 9));
    await model.search();
    model.select('b');
    return model;
  }

  it('saves the form and the last search in the state database, and brings them back', async () => {
    const db = new StateDB();
    const before = await searched();
    const saving = new SearchState({ model: before, state: db, delay: 0 });
    await saving.restore(['demo']);
    await saving.save();
    const saved = (await db.fetch(SEARCH_STATE_KEY)) as any;
    expect(saved.catalogue).toBe('demo');
    expect(saved.forms.demo).toMatchObject({
      collection: 's2',
      ...FORM,
      filters: { cloud_cover: { lte: 30 } }
    });
    expect(saved.last).toEqual({
      catalogue: 'demo',
      body: {
        limit: 10,
        count: true,
        collections: ['s2'],
        q: 'Toulouse',
        datetime: '2025-02-01T00:00:00Z/2025-05-31T23:59:59Z',
        bbox: [0.9, 43.5, 1.5, 43.9],
        filters: { cloud_cover: { lte: 30 } }
      },
      selected: 'b'
    });
    saving.dispose();

    // A reload: a new model reads the same database.
    searchCatalogue.mockReset();
    getQueryables.mockClear();
    const after = new SearchModel(20, { queryablesDelay: 0 });
    const restoring = new SearchState({ model: after, state: db, delay: 0 });
    await restoring.restore(['demo', 'other']);
    expect(after.form).toEqual({
      catalogue: 'demo',
      collection: 's2',
      ...FORM,
      filters: { cloud_cover: { lte: 30 } },
      moreFilters: false
    });
    expect(getQueryables.mock.calls).toEqual([['demo', 's2']]);
    expect(after.request()).toEqual({ ...saved.last.body, limit: 20 });
    // The last search re-runs only once the search is on screen, the same body, once.
    expect(searchCatalogue).not.toHaveBeenCalled();
    searchCatalogue.mockResolvedValueOnce(page(['a', 'b', 'c'], 'T1', 9));
    after.activate();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(searchCatalogue.mock.calls).toEqual([['demo', saved.last.body]]);
    expect(after.results.map(i => i.id)).toEqual(['a', 'b', 'c']);
    expect(after.selectedId).toBe('b');
    after.activate();
    expect(searchCatalogue).toHaveBeenCalledTimes(1);
    restoring.dispose();
  });

  it('keeps one form per catalogue', async () => {
    const model = await searched();
    await model.setCatalogue('other');
    expect(model.form).toMatchObject({
      catalogue: 'other',
      collection: null,
      q: '',
      area: null,
      filters: {}
    });
    model.update({ q: 'Rome' });
    getQueryables.mockClear();
    await model.setCatalogue('demo');
    expect(model.form).toMatchObject({
      catalogue: 'demo',
      collection: 's2',
      q: 'Toulouse',
      filters: { cloud_cover: { lte: 30 } }
    });
    // The restored collection's filters come back with its queryables.
    expect(getQueryables.mock.calls).toEqual([['demo', 's2']]);
    expect(model.request().filters).toEqual({ cloud_cover: { lte: 30 } });
    expect(model.snapshot().forms.other.q).toBe('Rome');
  });

  it('forgets catalogues no longer configured, and never overrides a search already made', async () => {
    const db = new StateDB();
    const before = await searched();
    await db.save(SEARCH_STATE_KEY, before.snapshot() as any);

    const gone = new SearchModel(20, { queryablesDelay: 0 });
    await new SearchState({ model: gone, state: db }).restore(['other']);
    gone.activate();
    expect(gone.form.catalogue).toBeNull();
    expect(gone.snapshot().forms).toEqual({});
    expect(gone.snapshot().last).toBeNull();

    const busy = new SearchModel(20, { queryablesDelay: 0 });
    await busy.setCatalogue('demo');
    searchCatalogue.mockResolvedValueOnce(page(['z'], null, 1));
    await busy.search();
    searchCatalogue.mockClear();
    await new SearchState({ model: busy, state: db }).restore(['demo']);
    busy.activate();
    expect(busy.results.map(i => i.id)).toEqual(['z']);
    expect(busy.form.q).toBe('');
    expect(searchCatalogue).not.toHaveBeenCalled();
  });

  it('saves once per burst of changes, and nothing when nothing changed', async () => {
    const saves: unknown[] = [];
    const store = {
      fetch: async () => undefined,
      save: async (_key: string, value: unknown) => {
        saves.push(value);
      }
    };
    const model = new SearchModel(20, { queryablesDelay: 0 });
    await model.setCatalogue('demo');
    const state = new SearchState({ model, state: store, delay: 100 });
    jest.useFakeTimers();
    try {
      await state.restore(['demo']);
      await jest.advanceTimersByTimeAsync(200);
      expect(saves).toHaveLength(1);
      for (const q of ['R', 'Ro', 'Rom', 'Rome']) {
        model.update({ q });
        await jest.advanceTimersByTimeAsync(20);
      }
      expect(saves).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(200);
      expect(saves).toHaveLength(2);
      expect((saves[1] as any).forms.demo.q).toBe('Rome');
      model.hover('x');
      model.update({ q: 'Rome' });
      await jest.advanceTimersByTimeAsync(200);
      expect(saves).toHaveLength(2);
    } finally {
      jest.useRealTimers();
      state.dispose();
    }
  });

  it('ignores saved state it cannot read', () => {
    expect(parseSnapshot(null)).toBeNull();
    expect(parseSnapshot('x')).toBeNull();
    expect(parseSnapshot({ version: 2, catalogue: 'demo' })).toBeNull();
    const parsed = parseSnapshot({
      version: 1,
      catalogue: 'demo',
      forms: {
        demo: {
          collection: 7,
          q: 'ok',
          start: 'yesterday',
          end: '2025-01-31',
          area: { kind: 'bbox', bbox: [1, 2, 'x', 4] },
          filters: { a: { lte: 3 }, b: { near: 1 }, c: [1], d: 'x' },
          moreFilters: 'yes'
        },
        broken: 'x'
      },
      last: { catalogue: 'demo', body: 'not a body' }
    });
    expect(parsed).toEqual({
      version: 1,
      catalogue: 'demo',
      forms: {
        demo: {
          collection: null,
          q: 'ok',
          start: '',
          end: '2025-01-31',
          area: null,
          filters: { a: { lte: 3 }, d: 'x' },
          moreFilters: false
        }
      },
      last: null
    });
  });
});
