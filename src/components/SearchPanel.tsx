import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';

import { quicklookUrl } from '../api';
import { ItemDetails, showQuicklook } from './ItemDetails';
import { filterFields, IFilterField } from '../models/filters';
import { SearchModel } from '../models/search';
import { IEndpoint, IItem, ITEM_MIME } from '../tokens';

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
  const listId = React.useId();
  const moreId = React.useId();
  const hintId = React.useId();
  const { common, more } = filterFields(model.queryables, trans);
  const moreSet = more.filter(
    field => form.filters[field.name] !== undefined
  ).length;

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    void model.search();
  };

  return (
    <div className="jp-EOJLab-search">
      <form className="jp-EOJLab-form" onSubmit={onSubmit}>
        <label className="jp-EOJLab-searchField">
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
        <label className="jp-EOJLab-searchField">
          <span>{trans.__('Collection')}</span>
          <input
            list={listId}
            value={form.collection ?? ''}
            placeholder={trans.__('All collections (type to filter)')}
            aria-label={trans.__('Collection')}
            aria-invalid={model.collectionUnknown}
            aria-describedby={model.collectionUnknown ? hintId : undefined}
            onChange={e => void model.setCollection(e.target.value || null)}
          />
          <datalist id={listId}>
            {model.collections.map(c => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </datalist>
        </label>
        {model.collectionUnknown && (
          <p id={hintId} className="jp-EOJLab-searchFieldHint">
            {trans.__(
              'Not a collection of this catalogue: no filters, and the search asks for it as typed.'
            )}
          </p>
        )}
        <label className="jp-EOJLab-searchField">
          <span>{trans.__('Text')}</span>
          <input
            type="search"
            value={form.q}
            placeholder={trans.__('Words in the title, tile, place…')}
            aria-label={trans.__('Text')}
            onChange={e => model.update({ q: e.target.value })}
          />
        </label>
        <div
          className="jp-EOJLab-searchField jp-EOJLab-dates"
          role="group"
          aria-label={trans.__('Dates')}
        >
          <span>{trans.__('Dates')}</span>
          <div className="jp-EOJLab-searchFieldControl">
            <input
              type="date"
              value={form.start}
              aria-label={trans.__('From')}
              title={trans.__('From (that day included)')}
              onChange={e => model.update({ start: e.target.value })}
            />
            <span aria-hidden="true">–</span>
            <input
              type="date"
              value={form.end}
              aria-label={trans.__('To')}
              title={trans.__('To (that day included)')}
              onChange={e => model.update({ end: e.target.value })}
            />
          </div>
        </div>
        <div
          className="jp-EOJLab-searchField jp-EOJLab-area"
          role="group"
          aria-label={trans.__('Area')}
        >
          <span>{trans.__('Area')}</span>
          <div className="jp-EOJLab-searchFieldControl">
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
        </div>
        {common.map(field => (
          <Filter key={field.name} field={field} model={model} trans={trans} />
        ))}
        {form.moreFilters && more.length > 0 && (
          <div
            id={moreId}
            className="jp-EOJLab-moreFilters"
            role="group"
            aria-label={trans.__('More filters')}
          >
            {more.map(field => (
              <Filter
                key={field.name}
                field={field}
                model={model}
                trans={trans}
              />
            ))}
          </div>
        )}
        <div className="jp-EOJLab-formActions">
          {more.length > 0 && (
            <button
              type="button"
              className="jp-EOJLab-moreToggle"
              aria-expanded={form.moreFilters}
              aria-controls={form.moreFilters ? moreId : undefined}
              onClick={() => model.update({ moreFilters: !form.moreFilters })}
            >
              {form.moreFilters ? (
                <caretDownIcon.react tag="span" />
              ) : (
                <caretRightIcon.react tag="span" />
              )}
              {moreSet
                ? trans.__('More filters (%1, %2 set)', more.length, moreSet)
                : trans.__('More filters (%1)', more.length)}
            </button>
          )}
          <button
            type="submit"
            className="jp-EOJLab-primary"
            disabled={!form.catalogue || model.busy}
          >
            {model.busy ? trans.__('Searching…') : trans.__('Search')}
          </button>
        </div>
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

/** How many results a new search scrolls into view (when the room allows). */
const FIRST_RESULTS = 5;

/**
 * New results: scroll the search's scrolling ancestor so that the first `count` results end
 * at the bottom of the view: as much of the form (its filters) as fits stays above them, and
 * the Search button never leaves the view.
 */
function revealFirstResults(root: HTMLElement, count: number): void {
  const scroller = scrollingAncestor(root);
  const rows = root.querySelectorAll('.jp-EOJLab-result');
  const submit = root.querySelector('.jp-EOJLab-form button[type="submit"]');
  if (!scroller || !rows.length || !submit) {
    return;
  }
  const view = scroller.getBoundingClientRect();
  const last = rows[Math.min(count, rows.length) - 1].getBoundingClientRect();
  const by = Math.min(
    last.bottom - view.bottom,
    submit.getBoundingClientRect().top - view.top
  );
  scroller.scrollTop = Math.max(0, scroller.scrollTop + by);
  // No form row cut in half at the top: scroll past it (more results show below).
  const top = scroller.getBoundingClientRect().top;
  const formRows = root.querySelectorAll(
    '.jp-EOJLab-searchField, .jp-EOJLab-formActions'
  );
  for (const row of Array.from(formRows)) {
    const box = row.getBoundingClientRect();
    if (box.top < top - 1 && box.bottom > top + 1) {
      scroller.scrollTop += box.bottom - top;
      break;
    }
  }
}

function scrollingAncestor(element: HTMLElement): HTMLElement | null {
  for (let node = element.parentElement; node; node = node.parentElement) {
    const overflow = getComputedStyle(node).overflowY;
    if (
      (overflow === 'auto' || overflow === 'scroll') &&
      node.scrollHeight > node.clientHeight
    ) {
      return node;
    }
  }
  return null;
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

/** One filter: a list of values, or a number (at most) with a slider when it has a range. */
function Filter(props: {
  field: IFilterField;
  model: SearchModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { field, model, trans } = props;
  const { name, label } = field;
  const value = model.form.filters[name];
  if (field.kind === 'choice') {
    return (
      <label
        className="jp-EOJLab-searchField jp-EOJLab-filter"
        data-filter={name}
        title={name}
      >
        <span>{label}</span>
        <select
          value={value === undefined ? '' : String(value)}
          aria-label={label}
          onChange={e => {
            const raw = e.target.value;
            const option = field.options.find(v => String(v) === raw);
            model.setFilter(name, raw === '' ? undefined : option);
          }}
        >
          <option value="">{trans.__('Any')}</option>
          {field.options.map(v => (
            <option key={String(v)} value={String(v)}>
              {String(v)}
            </option>
          ))}
        </select>
      </label>
    );
  }
  const atMost =
    typeof value === 'object' && value && typeof value.lte === 'number'
      ? value.lte
      : undefined;
  const set = (v: number | undefined) =>
    model.setFilter(name, v === undefined ? undefined : { lte: v });
  return (
    <div
      className="jp-EOJLab-searchField jp-EOJLab-filter"
      data-filter={name}
      title={name}
      role="group"
      aria-label={label}
    >
      <span>{label}</span>
      <div className="jp-EOJLab-searchFieldControl">
        {field.kind === 'range' && (
          <input
            type="range"
            min={field.min}
            max={field.max}
            step={field.step}
            value={atMost === undefined ? field.max : atMost}
            aria-label={trans.__('%1, at most', label)}
            aria-valuetext={
              atMost === undefined ? trans.__('any') : String(atMost)
            }
            onChange={e => {
              const v = Number(e.target.value);
              // The far end of the slider is "any": no filter sent.
              set(v >= field.max ? undefined : v);
            }}
          />
        )}
        <span className="jp-EOJLab-filterTyped">
          <span className="jp-EOJLab-filterSign" aria-hidden="true">
            ≤
          </span>
          <NumberInput
            value={atMost}
            label={trans.__('%1, at most (typed)', label)}
            placeholder={trans.__('any')}
            onChange={set}
          />
          {field.percent && (
            <span className="jp-EOJLab-filterUnit" aria-hidden="true">
              %
            </span>
          )}
        </span>
      </div>
    </div>
  );
}

/**
 * A typed number: what the user types stays as typed (a half-typed "2." or "1e" is not
 * reset); a complete number is applied, an emptied box means "any".
 */
function NumberInput(props: {
  value: number | undefined;
  label: string;
  placeholder: string;
  onChange: (value: number | undefined) => void;
}): JSX.Element {
  const { value, onChange } = props;
  const [text, setText] = React.useState(
    value === undefined ? '' : String(value)
  );
  // The slider moved (or the form was restored): show its value.
  React.useEffect(() => {
    const typed = text.trim() === '' ? undefined : Number(text);
    if (typed !== value) {
      setText(value === undefined ? '' : String(value));
    }
  }, [value]);
  return (
    <input
      type="number"
      step="any"
      inputMode="decimal"
      className="jp-EOJLab-filterNumber"
      value={text}
      placeholder={props.placeholder}
      aria-label={props.label}
      onChange={e => {
        const input = e.target;
        setText(input.value);
        if (input.validity.badInput) {
          return;
        }
        const v = input.value.trim() === '' ? undefined : Number(input.value);
        if (v === undefined || Number.isFinite(v)) {
          onChange(v);
        }
      }}
    />
  );
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
    const search = list.closest<HTMLElement>('.jp-EOJLab-search');
    if (search) {
      revealFirstResults(search, FIRST_RESULTS);
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
