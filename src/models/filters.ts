/**
 * Search filters from a collection's queryables: which ones are common (shown at once),
 * their readable labels, and the range and step of their sliders.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { IQueryable, IQueryables } from '../tokens';

/**
 * The filters shown at once, in this order, when the queryables have them; every other
 * queryable waits under "More filters". These are the first filters of the big EO portals:
 * cloud cover (optical), orbit direction (radar), which satellite, which product.
 * Each entry lists the property names catalogues use for the same thing.
 */
export const COMMON_FILTERS: readonly {
  label: (trans: TranslationBundle) => string;
  names: readonly string[];
}[] = [
  {
    label: trans => trans.__('Cloud cover'),
    names: ['cloud_cover', 'eo:cloud_cover', 'cloudCover']
  },
  { label: trans => trans.__('Platform'), names: ['platform'] },
  {
    label: trans => trans.__('Product type'),
    names: ['product_type', 'productType', 'product:type', 's2:product_type']
  },
  {
    label: trans => trans.__('Orbit direction'),
    names: ['sat:orbit_state', 'orbit_direction', 'orbitDirection']
  }
];

/** One filter of the form. */
export interface IFilterField {
  /** The queryable's property name, as the search request sends it. */
  name: string;
  /** What the user reads. */
  label: string;
  /** A list of values (select), a number range (slider and input), a number (input). */
  kind: 'choice' | 'range' | 'number';
  options: (string | number)[];
  /** Slider bounds and step (kind 'range'); `step` is also the input's for 'number'. */
  min: number;
  max: number;
  step: number;
  /** The value is a percentage (shown with a % sign). */
  percent: boolean;
}

/** Words written in capitals in labels. */
const ACRONYMS = new Set([
  'crs',
  'eo',
  'epsg',
  'gsd',
  'id',
  'iw',
  'ew',
  'mgrs',
  'nrt',
  'sar',
  'sm',
  'utm',
  'wkt'
]);

/** STAC extension prefixes as words (when a label keeps its namespace). */
const NAMESPACES: Record<string, string> = {
  proj: 'projection',
  sat: 'satellite'
};

/**
 * A readable label for a property name: `s2:mgrs_tile` -> "MGRS tile", `cloud_cover` ->
 * "Cloud cover", `orbitDirection` -> "Orbit direction". The namespace (`eo:`, `sat:`) is
 * dropped, except before a single word (`processing:level` -> "Processing level").
 */
export function humanise(name: string): string {
  const colon = name.lastIndexOf(':');
  const local = colon >= 0 ? name.slice(colon + 1) : name;
  let words = splitWords(local);
  if (colon >= 0 && words.length === 1) {
    const namespace = splitWords(name.slice(0, colon)).map(
      word => NAMESPACES[word] ?? word
    );
    words = [...namespace, ...words];
  }
  if (!words.length) {
    return name;
  }
  const text = words
    .map(word => (ACRONYMS.has(word) ? word.toUpperCase() : word))
    .join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function splitWords(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_\-.:]+/)
    .filter(Boolean)
    .map(word => word.toLowerCase());
}

/** The common filter group a property belongs to, if any. */
function commonGroup(name: string): number {
  return COMMON_FILTERS.findIndex(group => group.names.includes(name));
}

/**
 * The label of a queryable: its schema title when the catalogue gave a real one (not just the
 * property name again), else the common filter's label, else the humanised name.
 */
export function filterLabel(
  name: string,
  schema: IQueryable,
  trans?: TranslationBundle
): string {
  const title = (schema.title ?? '').trim();
  if (title && title !== name) {
    return title;
  }
  const group = commonGroup(name);
  return group >= 0
    ? COMMON_FILTERS[group].label(trans ?? nullTranslator.load('eo_jlab'))
    : humanise(name);
}

/**
 * Is this property a percentage? Cloud cover always; other names ending in cover, percent,
 * percentage (snow cover, water percentage...) when their range fits 0-100 and is not a
 * fraction (a maximum of 1 or less).
 */
export function isPercent(name: string, schema: IQueryable): boolean {
  if (COMMON_FILTERS[0].names.includes(name)) {
    return true;
  }
  const local = name.slice(name.lastIndexOf(':') + 1);
  const { minimum, maximum } = schema;
  return (
    /(cover|percent|percentage|_pct)$/i.test(local) &&
    (minimum === undefined || minimum >= 0) &&
    (maximum === undefined || (maximum > 1 && maximum <= 100))
  );
}

/** The round step nearest above `rough`: 1, 2 or 5 times a power of ten. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) {
    return 1;
  }
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].find(f => f * power >= rough * (1 - 1e-9))!;
  return roundTo(step * power, power);
}

/** `value` without binary noise, at the precision of `unit` (a power of ten). */
function roundTo(value: number, unit: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(unit)));
  return Number(value.toFixed(Math.min(decimals, 12)));
}

/**
 * The slider of a number queryable: 0-100 in steps of 1 for a percentage, else the
 * queryable's minimum and maximum widened to a round step (about a hundred steps; whole
 * numbers for integers). Null when the queryable gives no range (an input only).
 */
export function sliderRange(
  name: string,
  schema: IQueryable
): { min: number; max: number; step: number } | null {
  if (isPercent(name, schema)) {
    return { min: 0, max: 100, step: 1 };
  }
  const { minimum, maximum } = schema;
  if (
    typeof minimum !== 'number' ||
    typeof maximum !== 'number' ||
    !Number.isFinite(minimum) ||
    !Number.isFinite(maximum) ||
    maximum < minimum
  ) {
    return null;
  }
  let step = niceStep((maximum - minimum) / 100);
  if (schema.type === 'integer') {
    step = Math.max(1, Math.round(step));
  }
  // The small margins keep 0.29 / 0.01 (28.999999999999996) at 29 steps, not 28.
  let min = roundTo(Math.floor(minimum / step + 1e-9) * step, step);
  let max = roundTo(Math.ceil(maximum / step - 1e-9) * step, step);
  if (max === min) {
    min = roundTo(min - step, step);
    max = roundTo(max + step, step);
  }
  return { min, max, step };
}

/** One queryable as a form field, or null when the form cannot offer it. */
export function filterField(
  name: string,
  schema: IQueryable,
  trans?: TranslationBundle
): IFilterField | null {
  const label = filterLabel(name, schema, trans);
  const base = {
    name,
    label,
    options: [] as (string | number)[],
    min: 0,
    max: 0,
    step: 1,
    percent: false
  };
  if (schema.enum && schema.enum.length) {
    return { ...base, kind: 'choice', options: schema.enum };
  }
  if (schema.type === 'number' || schema.type === 'integer') {
    const range = sliderRange(name, schema);
    const percent = isPercent(name, schema);
    if (range) {
      return { ...base, kind: 'range', ...range, percent };
    }
    return {
      ...base,
      kind: 'number',
      step: schema.type === 'integer' ? 1 : 0,
      percent
    };
  }
  return null;
}

/**
 * The form's filters, split: the common ones (in `COMMON_FILTERS` order, one per group, and
 * only when they can narrow a search: a list of one value cannot) and the rest (by label).
 */
export function filterFields(
  queryables: IQueryables | null,
  trans?: TranslationBundle
): {
  common: IFilterField[];
  more: IFilterField[];
} {
  const common: [number, IFilterField][] = [];
  const more: IFilterField[] = [];
  const taken = new Set<number>();
  for (const [name, schema] of Object.entries(queryables?.properties ?? {})) {
    const field = filterField(name, schema ?? {}, trans);
    if (!field) {
      continue;
    }
    const group = commonGroup(name);
    const narrows = field.kind !== 'choice' || field.options.length > 1;
    if (group >= 0 && !taken.has(group) && narrows) {
      taken.add(group);
      common.push([group, field]);
    } else {
      more.push(field);
    }
  }
  common.sort((a, b) => a[0] - b[0]);
  more.sort((a, b) => a.label.localeCompare(b.label));
  return { common: common.map(([, field]) => field), more };
}
