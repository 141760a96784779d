import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import { quicklookUrl } from '../api';
import { ItemDetails, showQuicklook } from './ItemDetails';
import { SearchModel } from '../models/search';
import { IEndpoint, IItem, IQueryable, ITEM_MIME } from '../tokens';

export interface ISearchPanelProps {
  model: SearchModel;
  catalogues: IEndpoint[];
  trans: TranslationBundle;
  /** Start drawing an area on the map ('box' or 'polygon'), or stop (null). */
  onDraw: (mode: 'box' | 'polygon' | null) => void;
  onInsert: (item: IItem) => void;
  onZoom: (item: IItem) => void;
}

const ROW_HEIGHT = 58;

/** The search form, the results list and the details of the selected item. */
export function SearchPanel(props: ISearchPanelProps): JSX.Element {
  const { model, catalogues, trans } = props;
  const form = model.form;
  const queryables = model.queryables?.properties ?? {};
  const listId = React.useId();

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.search();
  };

  return (
    <div className="jp-EOJLab-search">
      <form className="jp-EOJLab-form" onSubmit={onSubmit}>
        <label>
          <span>{trans.__('Catalogue')}</span>
          <select
            value={form.catalogue ?? ''}
            onChange={e => void model.setCatalogue(e.target.value || null)}
            aria-label={trans.__('Catalogue')}
          >
            <option value="">{trans.__('Choose a catalogue…')}</option>
            {catalogues.map(c => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{trans.__('Collection')}</span>
          <input
            list={listId}
            value={form.collection ?? ''}
            placeholder={trans.__('All collections (type to filter)')}
            aria-label={trans.__('Collection')}
            onChange={e => {
              const value = e.target.value;
              const known = model.collections.some(c => c.id === value);
              void model.setCollection(known ? value : value ? value : null);
            }}
          />
          <datalist id={listId}>
            {model.collections.map(c => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </datalist>
        </label>
        <label>
          <span>{trans.__('Text')}</span>
          <input
            type="search"
            value={form.q}
            placeholder={trans.__('Words in the title, tile, place…')}
            aria-label={trans.__('Text')}
            onChange={e => model.update({ q: e.target.value })}
          />
        </label>
        <div className="jp-EOJLab-dates">
          <label>
            <span>{trans.__('From')}</span>
            <input
              type="date"
              value={form.start}
              aria-label={trans.__('From')}
              onChange={e => model.update({ start: e.target.value })}
            />
          </label>
          <label>
            <span>{trans.__('To')}</span>
            <input
              type="date"
              value={form.end}
              aria-label={trans.__('To')}
              onChange={e => model.update({ end: e.target.value })}
            />
          </label>
        </div>
        <div className="jp-EOJLab-area">
          <span>{trans.__('Area')}</span>
          <button type="button" onClick={() => props.onDraw('box')}>
            {trans.__('Draw box')}
          </button>
          <button type="button" onClick={() => props.onDraw('polygon')}>
            {trans.__('Draw polygon')}
          </button>
          <button
            type="button"
            disabled={!form.area}
            onClick={() => {
              props.onDraw(null);
              model.update({ area: null });
            }}
          >
            {trans.__('Clear')}
          </button>
          <div
            className="jp-EOJLab-area-text"
            data-area={form.area?.kind ?? 'none'}
          >
            {describeArea(model, trans)}
          </div>
        </div>
        {Object.entries(queryables).map(([name, schema]) => (
          <Filter
            key={name}
            name={name}
            schema={schema}
            model={model}
            trans={trans}
          />
        ))}
        <button
          type="submit"
          className="jp-EOJLab-primary"
          disabled={!form.catalogue || model.busy}
        >
          {model.busy ? trans.__('Searching…') : trans.__('Search')}
        </button>
      </form>
      {model.error && (
        <p className="jp-EOJLab-error" role="alert">
          {model.error}
        </p>
      )}
      {model.searched && (
        <div className="jp-EOJLab-count" aria-live="polite">
          {model.numberMatched === null
            ? trans.__('%1 of unknown', model.results.length)
            : trans.__('%1 of %2', model.results.length, model.numberMatched)}
        </div>
      )}
      <ResultList {...props} />
      {model.hasMore && (
        <button
          type="button"
          className="jp-EOJLab-more"
          disabled={model.busy}
          onClick={() => void model.loadMore()}
        >
          {trans.__('Load more')}
        </button>
      )}
      {model.selected && (
        <ItemDetails
          item={model.selected}
          catalogue={model.resultsCatalogue ?? ''}
          trans={trans}
          onInsert={props.onInsert}
          onZoom={props.onZoom}
        />
      )}
    </div>
  );
}

function describeArea(model: SearchModel, trans: TranslationBundle): string {
  const area = model.form.area;
  if (!area) {
    return trans.__('Anywhere (draw on the map to limit)');
  }
  if (area.kind === 'bbox') {
    return area.bbox.map(v => v.toFixed(3)).join(', ');
  }
  return trans.__('Drawn polygon');
}

function Filter(props: {
  name: string;
  schema: IQueryable;
  model: SearchModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { name, schema, model, trans } = props;
  const label = schema.title || name;
  const value = model.form.filters[name];
  if (schema.enum && schema.enum.length) {
    return (
      <label className="jp-EOJLab-filter" data-filter={name}>
        <span>{label}</span>
        <select
          value={value === undefined ? '' : String(value)}
          aria-label={label}
          onChange={e => {
            const raw = e.target.value;
            const option = schema.enum!.find(v => String(v) === raw);
            model.setFilter(name, raw === '' ? undefined : option);
          }}
        >
          <option value="">{trans.__('Any')}</option>
          {schema.enum.map(v => (
            <option key={String(v)} value={String(v)}>
              {String(v)}
            </option>
          ))}
        </select>
      </label>
    );
  }
  if (
    (schema.type === 'number' || schema.type === 'integer') &&
    schema.minimum !== undefined &&
    schema.maximum !== undefined
  ) {
    const max =
      typeof value === 'object' && value ? (value as any).lte : undefined;
    const low = Math.floor(schema.minimum);
    const high = Math.ceil(schema.maximum);
    return (
      <label className="jp-EOJLab-filter" data-filter={name}>
        <span>
          {trans.__(
            '%1 at most: %2',
            label,
            max === undefined ? trans.__('any') : max
          )}
        </span>
        <input
          type="range"
          min={low}
          max={high}
          step={
            schema.type === 'integer' ? 1 : Math.max((high - low) / 100, 0.01)
          }
          value={max === undefined ? high : max}
          aria-label={label}
          onChange={e => {
            const v = Number(e.target.value);
            model.setFilter(name, v >= high ? undefined : { lte: v });
          }}
        />
      </label>
    );
  }
  return null;
}

function ResultList(props: ISearchPanelProps): JSX.Element | null {
  const { model, trans } = props;
  const [scrollTop, setScrollTop] = React.useState(0);
  const items = model.results;
  const listRef = React.useRef<HTMLDivElement>(null);
  const shown = React.useRef<readonly IItem[]>([]);
  // New results (not a page appended): bring the list into view under the form, in the
  // Search section's own scroll area, and back to its first row.
  React.useEffect(() => {
    const before = shown.current;
    shown.current = items;
    const appended =
      before.length > 0 &&
      items.length > before.length &&
      items[0] === before[0];
    const list = listRef.current;
    if (!list || appended || items === before || items.length === 0) {
      return;
    }
    list.scrollTop = 0;
    setScrollTop(0);
    const body = list.closest('.jp-EOJLab-searchBody');
    if (body) {
      // As little as needed: the whole list if it fits, its top (and the count line
      // above it, 28 px) if not; the form stays in view when there is room.
      const top =
        list.getBoundingClientRect().top - body.getBoundingClientRect().top;
      const bottom = top + list.offsetHeight;
      if (top < 28) {
        body.scrollTop += top - 28;
      } else if (bottom > body.clientHeight) {
        body.scrollTop += Math.min(bottom - body.clientHeight, top - 28);
      }
    }
  }, [items]);
  if (!model.searched) {
    return null;
  }
  if (items.length === 0) {
    return <p className="jp-EOJLab-empty">{trans.__('No product matches.')}</p>;
  }
  const viewport = 6 * ROW_HEIGHT;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - 3);
  const last = Math.min(
    items.length,
    first + Math.ceil(viewport / ROW_HEIGHT) + 6
  );
  const catalogue = model.resultsCatalogue ?? '';
  return (
    <div
      ref={listRef}
      className="jp-EOJLab-results"
      role="list"
      aria-label={trans.__('Results')}
      style={{ height: Math.min(viewport, items.length * ROW_HEIGHT) }}
      onScroll={e => setScrollTop((e.target as HTMLElement).scrollTop)}
    >
      <div style={{ height: items.length * ROW_HEIGHT, position: 'relative' }}>
        {items.slice(first, last).map((item, offset) => {
          const index = first + offset;
          const props = item.properties;
          const selected = item.id === model.selectedId;
          return (
            <div
              key={item.id}
              role="listitem"
              className={`jp-EOJLab-result${selected ? ' jp-mod-selected' : ''}`}
              data-item-id={item.id}
              style={{ top: index * ROW_HEIGHT, height: ROW_HEIGHT }}
              draggable
              title={trans.__(
                'Drag into a notebook, or select and press Insert'
              )}
              onDragStart={e => {
                e.dataTransfer.setData(
                  ITEM_MIME,
                  JSON.stringify({ catalogue, item })
                );
                e.dataTransfer.setData('text/plain', item.id);
                e.dataTransfer.effectAllowed = 'copy';
              }}
              onMouseEnter={() => model.hover(item.id)}
              onMouseLeave={() => model.hover(null)}
              onClick={() => model.select(selected ? null : item.id)}
            >
              {item.thumbnail ? (
                <button
                  type="button"
                  className="jp-EOJLab-thumbButton"
                  aria-label={trans.__(
                    'Show the quicklook of %1',
                    props.title ?? item.id
                  )}
                  title={trans.__('Show the quicklook at full size')}
                  onClick={e => {
                    e.stopPropagation();
                    void showQuicklook(item, catalogue, trans);
                  }}
                >
                  <img
                    className="jp-EOJLab-thumb"
                    src={quicklookUrl(catalogue, item.thumbnail)}
                    alt=""
                    loading="lazy"
                    draggable={false}
                  />
                </button>
              ) : (
                <div className="jp-EOJLab-thumb" />
              )}
              <div className="jp-EOJLab-result-text">
                <div className="jp-EOJLab-result-title">
                  {props.title ?? item.id}
                </div>
                <div className="jp-EOJLab-result-meta">
                  <span>
                    {(props.datetime ?? props.start_datetime ?? '').slice(
                      0,
                      16
                    )}
                  </span>
                  {typeof props.cloud_cover === 'number' && (
                    <span>
                      {trans.__('☁ %1 %', Math.round(props.cloud_cover))}
                    </span>
                  )}
                </div>
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
