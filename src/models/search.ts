import { ISignal, Signal } from '@lumino/signaling';

import { getCollections, getQueryables, searchCatalogue } from '../api';
import {
  FilterValue,
  ICollection,
  IGeometry,
  IItem,
  IQueryables,
  ISearchRequest
} from '../tokens';

/** The area of interest: a box (from a drawn rectangle) or any drawn geometry. */
export type Area =
  | { kind: 'bbox'; bbox: [number, number, number, number] }
  | { kind: 'geometry'; geometry: IGeometry };

/** What the search form holds. */
export interface ISearchForm {
  catalogue: string | null;
  collection: string | null;
  q: string;
  start: string;
  end: string;
  area: Area | null;
  /** Filter values by queryable name (only the collection's queryables are sent). */
  filters: Record<string, FilterValue | undefined>;
}

/**
 * One search tab's state: form, collections, queryables, results and their paging.
 *
 * The page token returned by the server carries the paging state; this model only keeps the
 * body it was issued for, so "load more" always sends the same search.
 */
export class SearchModel {
  constructor(pageSize = 20) {
    this.pageSize = pageSize;
  }

  pageSize: number;

  get changed(): ISignal<SearchModel, void> {
    return this._changed;
  }

  /** Emitted when the highlighted (hovered) or selected item changes. */
  get highlightChanged(): ISignal<SearchModel, void> {
    return this._highlightChanged;
  }

  get form(): Readonly<ISearchForm> {
    return this._form;
  }

  get collections(): ICollection[] {
    return this._collections;
  }

  get queryables(): IQueryables | null {
    return this._queryables;
  }

  get results(): IItem[] {
    return this._results;
  }

  get numberMatched(): number | null {
    return this._numberMatched;
  }

  get hasMore(): boolean {
    return this._nextToken !== null;
  }

  get busy(): boolean {
    return this._busy;
  }

  get error(): string | null {
    return this._error;
  }

  /** True once a search has answered (even with no result). */
  get searched(): boolean {
    return this._searched;
  }

  get selected(): IItem | null {
    return this._results.find(item => item.id === this._selectedId) ?? null;
  }

  get selectedId(): string | null {
    return this._selectedId;
  }

  get hoveredId(): string | null {
    return this._hoveredId;
  }

  /** The catalogue the current results came from. */
  get resultsCatalogue(): string | null {
    return this._resultsCatalogue;
  }

  async setCatalogue(catalogue: string | null): Promise<void> {
    if (catalogue === this._form.catalogue) {
      return;
    }
    this._form = { ...this._form, catalogue, collection: null, filters: {} };
    this._collections = [];
    this._queryables = null;
    this._error = null;
    this._changed.emit();
    if (!catalogue) {
      return;
    }
    try {
      const { collections } = await getCollections(catalogue);
      if (this._form.catalogue === catalogue) {
        this._collections = collections;
      }
    } catch (error) {
      this._error = messageOf(error);
    }
    this._changed.emit();
  }

  async setCollection(collection: string | null): Promise<void> {
    const catalogue = this._form.catalogue;
    this._form = { ...this._form, collection, filters: {} };
    this._queryables = null;
    this._changed.emit();
    if (!catalogue || !collection) {
      return;
    }
    try {
      const queryables = await getQueryables(catalogue, collection);
      if (
        this._form.catalogue === catalogue &&
        this._form.collection === collection
      ) {
        this._queryables = queryables;
      }
    } catch (error) {
      // A catalogue without queryables still searches; filters are simply not offered.
      this._queryables = { properties: {} };
      console.warn('eo_jlab: no queryables', messageOf(error));
    }
    this._changed.emit();
  }

  update(patch: Partial<Omit<ISearchForm, 'catalogue' | 'collection'>>): void {
    this._form = { ...this._form, ...patch };
    this._changed.emit();
  }

  setFilter(name: string, value: FilterValue | undefined): void {
    this.update({ filters: { ...this._form.filters, [name]: value } });
  }

  /** The contract's search body for the current form. */
  request(): ISearchRequest {
    const form = this._form;
    const body: ISearchRequest = { limit: this.pageSize, count: true };
    if (form.collection) {
      body.collections = [form.collection];
    }
    if (form.q.trim()) {
      body.q = form.q.trim();
    }
    if (form.start || form.end) {
      body.datetime = `${toInstant(form.start, false)}/${toInstant(form.end, true)}`;
    }
    if (form.area?.kind === 'bbox') {
      body.bbox = form.area.bbox;
    } else if (form.area?.kind === 'geometry') {
      body.intersects = form.area.geometry;
    }
    const supported = this._queryables?.properties ?? {};
    const filters: Record<string, FilterValue> = {};
    for (const [name, value] of Object.entries(form.filters)) {
      if (value !== undefined && value !== '' && name in supported) {
        filters[name] = value;
      }
    }
    if (Object.keys(filters).length) {
      body.filters = filters;
    }
    return body;
  }

  /** A new search: results replaced. */
  async search(): Promise<void> {
    const catalogue = this._form.catalogue;
    if (!catalogue) {
      this._error = 'Choose a catalogue first.';
      this._changed.emit();
      return;
    }
    const body = this.request();
    await this._run(catalogue, body, true);
  }

  /** The next page of the same search, appended. */
  async loadMore(): Promise<void> {
    if (!this._nextToken || !this._resultsCatalogue || !this._lastBody) {
      return;
    }
    await this._run(
      this._resultsCatalogue,
      { ...this._lastBody, page_token: this._nextToken },
      false
    );
  }

  select(id: string | null): void {
    if (id !== this._selectedId) {
      this._selectedId = id;
      this._highlightChanged.emit();
      this._changed.emit();
    }
  }

  hover(id: string | null): void {
    if (id !== this._hoveredId) {
      this._hoveredId = id;
      this._highlightChanged.emit();
    }
  }

  private async _run(
    catalogue: string,
    body: ISearchRequest,
    fresh: boolean
  ): Promise<void> {
    const generation = ++this._generation;
    this._busy = true;
    this._error = null;
    this._changed.emit();
    try {
      const page = await searchCatalogue(catalogue, body);
      if (generation !== this._generation) {
        return;
      }
      const { page_token: _ignored, ...searchBody } = body;
      void _ignored;
      this._lastBody = searchBody;
      this._resultsCatalogue = catalogue;
      this._results = fresh
        ? page.features
        : [...this._results, ...page.features];
      this._nextToken = page.next_page_token;
      this._numberMatched = page.number_matched;
      this._searched = true;
      if (fresh) {
        this._selectedId = null;
      }
    } catch (error) {
      if (generation === this._generation) {
        this._error = messageOf(error);
      }
    } finally {
      if (generation === this._generation) {
        this._busy = false;
        this._changed.emit();
        this._highlightChanged.emit();
      }
    }
  }

  private _form: ISearchForm = {
    catalogue: null,
    collection: null,
    q: '',
    start: '',
    end: '',
    area: null,
    filters: {}
  };
  private _collections: ICollection[] = [];
  private _queryables: IQueryables | null = null;
  private _results: IItem[] = [];
  private _numberMatched: number | null = null;
  private _nextToken: string | null = null;
  private _lastBody: ISearchRequest | null = null;
  private _resultsCatalogue: string | null = null;
  private _busy = false;
  private _error: string | null = null;
  private _searched = false;
  private _selectedId: string | null = null;
  private _hoveredId: string | null = null;
  private _generation = 0;
  private _changed = new Signal<SearchModel, void>(this);
  private _highlightChanged = new Signal<SearchModel, void>(this);
}

/** A date input's value (YYYY-MM-DD) as an RFC 3339 bound; empty = open. */
function toInstant(date: string, end: boolean): string {
  if (!date) {
    return '..';
  }
  return end ? `${date}T23:59:59Z` : `${date}T00:00:00Z`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
