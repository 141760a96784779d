/**
 * The search survives a reload as JupyterLab's layout does: its form (per catalogue) and its
 * last search are saved in JupyterLab's state database, restored at start, and the last
 * search is re-run (first page) once the Search section is on screen.
 */
import type { IStateDB } from '@jupyterlab/statedb';
import type { ReadonlyPartialJSONValue } from '@lumino/coreutils';

import { FilterValue, ISearchRequest } from '../tokens';
import type { Area, ISavedForm, ISearchSnapshot, SearchModel } from './search';

/** The state database key of the search. */
export const SEARCH_STATE_KEY = 'eo_jlab:search';

/** The little of a key/value store the search needs (IStateDB, or a stand-in). */
export interface ISearchStore {
  fetch(key: string): Promise<unknown>;
  save(key: string, value: any): Promise<unknown>;
}

/**
 * Saves a `SearchModel` in a state database after each change (debounced), once it has
 * restored what was saved before.
 */
export class SearchState {
  constructor(options: {
    model: SearchModel;
    state: IStateDB | ISearchStore;
    /** Milliseconds between a change and its save. Default 500. */
    delay?: number;
  }) {
    this._model = options.model;
    this._state = options.state;
    this._delay = Math.max(0, options.delay ?? 500);
  }

  /**
   * Restore the saved search (only catalogues in `catalogues` are kept), then save every
   * change. Unreadable or foreign state is ignored.
   */
  async restore(catalogues: string[] | null = null): Promise<void> {
    if (this._started) {
      return;
    }
    this._started = true;
    try {
      const snapshot = parseSnapshot(await this._state.fetch(SEARCH_STATE_KEY));
      if (snapshot) {
        this._saved = JSON.stringify(snapshot);
        await this._model.restore(snapshot, catalogues);
      }
    } catch (error) {
      console.warn('eo_jlab: could not restore the search.', error);
    }
    this._model.changed.connect(this._schedule, this);
    this._schedule();
  }

  /** Save now if anything changed since the last save. */
  async save(): Promise<void> {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    const snapshot = this._model.snapshot();
    const text = JSON.stringify(snapshot);
    if (text === this._saved) {
      return;
    }
    this._saved = text;
    try {
      await this._state.save(
        SEARCH_STATE_KEY,
        snapshot as unknown as ReadonlyPartialJSONValue
      );
    } catch (error) {
      console.warn('eo_jlab: could not save the search.', error);
    }
  }

  dispose(): void {
    this._model.changed.disconnect(this._schedule, this);
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _schedule(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      void this.save();
    }, this._delay);
  }

  private _model: SearchModel;
  private _state: IStateDB | ISearchStore;
  private _delay: number;
  private _saved = '';
  private _started = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
}

/** A saved search read back, checked field by field; null when it is not one. */
export function parseSnapshot(value: unknown): ISearchSnapshot | null {
  if (!isRecord(value) || value.version !== 1) {
    return null;
  }
  const forms: Record<string, ISavedForm> = {};
  if (isRecord(value.forms)) {
    for (const [id, form] of Object.entries(value.forms)) {
      const parsed = parseForm(form);
      if (parsed) {
        forms[id] = parsed;
      }
    }
  }
  let last: ISearchSnapshot['last'] = null;
  if (
    isRecord(value.last) &&
    typeof value.last.catalogue === 'string' &&
    value.last.catalogue &&
    isRecord(value.last.body)
  ) {
    last = {
      catalogue: value.last.catalogue,
      body: value.last.body as ISearchRequest,
      selected:
        typeof value.last.selected === 'string' ? value.last.selected : null
    };
  }
  return {
    version: 1,
    catalogue:
      typeof value.catalogue === 'string' && value.catalogue
        ? value.catalogue
        : null,
    forms,
    last
  };
}

function parseForm(value: unknown): ISavedForm | null {
  if (!isRecord(value)) {
    return null;
  }
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const date = (v: unknown): string =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '';
  const filters: Record<string, FilterValue> = {};
  if (isRecord(value.filters)) {
    for (const [name, filter] of Object.entries(value.filters)) {
      if (isFilterValue(filter)) {
        filters[name] = filter;
      }
    }
  }
  return {
    collection: text(value.collection) || null,
    q: text(value.q),
    start: date(value.start),
    end: date(value.end),
    area: parseArea(value.area),
    filters,
    moreFilters: value.moreFilters === true
  };
}

function parseArea(value: unknown): Area | null {
  if (!isRecord(value)) {
    return null;
  }
  if (
    value.kind === 'bbox' &&
    Array.isArray(value.bbox) &&
    value.bbox.length === 4 &&
    value.bbox.every(v => typeof v === 'number' && Number.isFinite(v))
  ) {
    return {
      kind: 'bbox',
      bbox: value.bbox as [number, number, number, number]
    };
  }
  if (
    value.kind === 'geometry' &&
    isRecord(value.geometry) &&
    typeof value.geometry.type === 'string' &&
    Array.isArray(value.geometry.coordinates)
  ) {
    return {
      kind: 'geometry',
      geometry: {
        type: value.geometry.type,
        coordinates: value.geometry.coordinates
      }
    };
  }
  return null;
}

function isFilterValue(value: unknown): value is FilterValue {
  if (['string', 'number', 'boolean'].includes(typeof value)) {
    return true;
  }
  return (
    isRecord(value) &&
    Object.entries(value).every(
      ([op, v]) =>
        ['lt', 'lte', 'gt', 'gte', 'eq'].includes(op) &&
        (typeof v === 'number' || typeof v === 'string')
    )
  );
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
