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
  /** The filters beyond the common ones are unfolded. */
  moreFilters: boolean;
}

/** A catalogue's form, as kept per catalogue and saved in JupyterLab's state. */
export type ISavedForm = Omit<ISearchForm, 'catalogue'>;

/** The last search that answered: re-run (first page) when the search is restored. */
export interface ILastSearch {
  catalogue: string;
  body: ISearchRequest;
  /** The product that was selected in its results. */
  selected: string | null;
}

/** What is saved of the search (see `searchState.ts`), and restored after a reload. */
export interface ISearchSnapshot {
  version: 1;
  /** The catalogue chosen. */
  catalogue: string | null;
  /** Each catalogue's form, so switching catalogues back and forth loses nothing. */
  forms: Record<string, ISavedForm>;
  last: ILastSearch | null;
}

export interface ISearchModelOptions {
  /**
   * Milliseconds the collection box must rest on one of the catalogue's collections before
   * its queryables are asked (typing an id letter by letter asks nothing). Default 300.
   */
  queryablesDelay?: number;
}

const EMPTY_FORM: ISavedForm = {
  collection: null,
  q: '',
  start: '',
  end: '',
  area: null,
  filters: {},
  moreFilters: false
};

/**
 * One search tab's state: form, collections, queryables, results and their paging.
 *
 * The page token returned by the server carries the paging state; this model only keeps the
 * body it was issued for, so "load more" always sends the same search.
 */
export class SearchModel {
  constructor(pageSize = 20, options: ISearchModelOptions = {}) {
    this.pageSize = pageSize;
    this._queryablesDelay = Math.max(0, options.queryablesDelay ?? 300);
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

  /**
   * True when the collection box holds an id the catalogue does not list (said once the
   * box has rested, not at every letter).
   */
  get collectionUnknown(): boolean {
    return this._collectionUnknown;
  }

  /** Choose a catalogue: its collections are loaded and its last form comes back. */
  async setCatalogue(catalogue: string | null): Promise<void> {
    if (catalogue === this._form.catalogue) {
      return;
    }
    this._keepForm();
    await this._openCatalogue(
      catalogue,
      catalogue ? this._forms[catalogue] : undefined
    );
  }

  /**
   * The collection box changed. Queryables are asked only for a collection the catalogue
   * lists, once the box has rested `queryablesDelay` ms on it (at once with `immediate`);
   * the promise settles when they are in (or when a later change supersedes this one).
   */
  setCollection(
    collection: string | null,
    options: { immediate?: boolean } = {}
  ): Promise<void> {
    const value = collection || null;
    this._cancelCollection();
    this._form = { ...this._form, collection: value, filters: {} };
    this._queryables = null;
    this._collectionUnknown = false;
    this._changed.emit();
    const catalogue = this._form.catalogue;
    if (!catalogue || !value) {
      return Promise.resolve();
    }
    return this._settleLater(
      catalogue,
      value,
      options.immediate ? 0 : this._queryablesDelay
    );
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

  /** What to save of the search (forms per catalogue, the last search). */
  snapshot(): ISearchSnapshot {
    const forms = { ...this._forms };
    const catalogue = this._form.catalogue;
    if (catalogue) {
      forms[catalogue] = savedForm(this._form);
    }
    let last = this._pendingRerun;
    if (this._searched && this._resultsCatalogue && this._lastBody) {
      last = {
        catalogue: this._resultsCatalogue,
        body: this._lastBody,
        selected: this._selectedId
      };
    }
    return { version: 1, catalogue, forms, last };
  }

  /**
   * Bring a saved search back: the catalogue and its form (collections and queryables are
   * asked again), and the last search, re-run once the search is on screen (`activate`).
   * Catalogues not in `catalogues` (no longer configured) are forgotten. Does nothing once
   * the user has searched.
   */
  async restore(
    snapshot: ISearchSnapshot,
    catalogues: string[] | null = null
  ): Promise<void> {
    if (this._generation > 0) {
      return;
    }
    const known = (id: string | null): id is string =>
      !!id && (catalogues === null || catalogues.includes(id));
    this._forms = {};
    for (const [id, form] of Object.entries(snapshot.forms)) {
      if (known(id)) {
        this._forms[id] = form;
      }
    }
    const last = snapshot.last;
    this._pendingRerun = last && known(last.catalogue) ? last : null;
    if (known(snapshot.catalogue)) {
      await this._openCatalogue(
        snapshot.catalogue,
        this._forms[snapshot.catalogue]
      );
    }
    this._rerunIfActive();
  }

  /** The search is on screen: a restored search runs now (once). */
  activate(): void {
    this._active = true;
    this._rerunIfActive();
  }

  private _rerunIfActive(): void {
    const last = this._pendingRerun;
    if (!this._active || !last) {
      return;
    }
    this._pendingRerun = null;
    if (this._generation > 0) {
      return;
    }
    void this._run(last.catalogue, last.body, true).then(() => {
      if (
        last.selected &&
        !this._selectedId &&
        this._results.some(item => item.id === last.selected)
      ) {
        this.select(last.selected);
      }
    });
  }

  /** Keep the current catalogue's form, to come back to it. */
  private _keepForm(): void {
    if (this._form.catalogue) {
      this._forms[this._form.catalogue] = savedForm(this._form);
    }
  }

  private async _openCatalogue(
    catalogue: string | null,
    saved: ISavedForm | undefined
  ): Promise<void> {
    this._cancelCollection();
    this._form = { ...EMPTY_FORM, ...saved, catalogue };
    this._collections = [];
    this._queryables = null;
    this._collectionUnknown = false;
    this._error = null;
    this._changed.emit();
    if (!catalogue) {
      return;
    }
    try {
      const { collections } = await getCollections(catalogue);
      if (this._form.catalogue !== catalogue) {
        return;
      }
      this._collections = collections;
    } catch (error) {
      if (this._form.catalogue !== catalogue) {
        return;
      }
      this._error = messageOf(error);
    }
    this._changed.emit();
    const collection = this._form.collection;
    if (collection) {
      // A restored collection keeps its filters: settle it without resetting the form.
      await this._settleLater(catalogue, collection, 0);
    }
  }

  /** Settle the collection box after `delay` ms, unless it changes before (a check still
   * waiting is cancelled: only the newest one asks for queryables). */
  private _settleLater(
    catalogue: string,
    collection: string,
    delay: number
  ): Promise<void> {
    this._cancelCollection();
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        this._pendingCollection = null;
        void this._settleCollection(catalogue, collection).finally(resolve);
      }, delay);
      this._pendingCollection = { timer, resolve };
    });
  }

  private _cancelCollection(): void {
    const pending = this._pendingCollection;
    if (pending) {
      this._pendingCollection = null;
      clearTimeout(pending.timer);
      pending.resolve();
    }
  }

  /** Ask the queryables of a listed collection; an unlisted id asks nothing. */
  private async _settleCollection(
    catalogue: string,
    collection: string
  ): Promise<void> {
    const current = () =>
      this._form.catalogue === catalogue &&
      this._form.collection === collection;
    if (!current()) {
      return;
    }
    if (!this._collections.some(c => c.id === collection)) {
      // A catalogue that lists no collection cannot say an id is unknown.
      this._collectionUnknown = this._collections.length > 0;
      this._changed.emit();
      return;
    }
    try {
      const queryables = await getQueryables(catalogue, collection);
      if (current()) {
        this._queryables = queryables;
      }
    } catch (error) {
      if (!current()) {
        return;
      }
      // A collection without queryables still searches; filters are simply not offered.
      this._queryables = { properties: {} };
      console.warn('eo_jlab: no queryables', messageOf(error));
    }
    this._changed.emit();
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

  private _form: ISearchForm = { ...EMPTY_FORM, catalogue: null };
  private _forms: Record<string, ISavedForm> = {};
  private _queryablesDelay: number;
  private _pendingCollection: {
    timer: ReturnType<typeof setTimeout>;
    resolve: () => void;
  } | null = null;
  private _collectionUnknown = false;
  private _pendingRerun: ILastSearch | null = null;
  private _active = false;
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

function savedForm(form: ISearchForm): ISavedForm {
  const { catalogue: _catalogue, ...rest } = form;
  void _catalogue;
  return rest;
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
