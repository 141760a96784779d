import { JSONExt } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { Notification } from '@jupyterlab/apputils';
import type { Event } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import {
  dismissJob,
  EOJLabRequestError,
  fetchJobResult,
  getJob,
  getJobExchange,
  getJobSnippet,
  listJobs
} from '../api';
import {
  FINAL_JOB_STATUSES,
  IEOMap,
  IExchange,
  IJob,
  IJobResult,
  ISnippet,
  JobStatus,
  SnippetLanguage
} from '../tokens';

/** The id of the job event schema the server extension registers (eo_jlab/events/job.yaml). */
export const JOB_EVENT_SCHEMA_ID = 'https://events.eo-jlab.dev/eo_jlab/job';

/** What the Jobs section lists: every job, the unfinished ones, or one status. */
export type JobFilter = 'all' | 'active' | JobStatus;

export const JOB_STATUSES: JobStatus[] = [
  'accepted',
  'running',
  'successful',
  'failed',
  'dismissed'
];

export const JOB_FILTERS: JobFilter[] = ['all', 'active', ...JOB_STATUSES];

export type BBox = [number, number, number, number];

export function isFinal(status: JobStatus): boolean {
  return FINAL_JOB_STATUSES.includes(status);
}

export function matchesFilter(job: IJob, filter: JobFilter): boolean {
  if (filter === 'all') {
    return true;
  }
  if (filter === 'active') {
    return !isFinal(job.status);
  }
  return job.status === filter;
}

/** The data of one job event (the fields of `Jobs.announce`). */
export interface IJobEvent {
  job_id: string;
  status: JobStatus;
  service?: string;
  process?: string;
  progress?: number | null;
  message?: string;
  updated?: string;
}

export interface IJobsModelOptions {
  /** jupyter-server's event bus (`app.serviceManager.events`); without it, polling only. */
  events?: Event.IManager | null;
  /**
   * Milliseconds without news (an event, a listing, a poll) after which unfinished jobs are
   * polled with `GET jobs/{id}`; also the polling period while no event arrives. Default 5000.
   */
  pollInterval?: number;
}

/**
 * The persisted job list (`GET jobs`, newest first), kept live by the server's job events,
 * with polling as the fallback while some job is unfinished and the event bus is quiet.
 */
export class JobsModel {
  constructor(options: IJobsModelOptions = {}) {
    this._events = options.events ?? null;
    this._pollInterval = options.pollInterval ?? 5000;
    this._lastNews = Date.now();
    this._events?.stream.connect(this._onEvent, this);
  }

  /** Emitted whenever the jobs, the filter, loading or the error change. */
  get changed(): ISignal<JobsModel, void> {
    return this._changed;
  }

  /**
   * Emitted once when a job this model saw unfinished becomes final (successful, failed or
   * dismissed), with the final job (its results fetched when possible). Jobs already final
   * when first seen never emit.
   */
  get jobEnded(): ISignal<JobsModel, IJob> {
    return this._jobEnded;
  }

  /** Emitted by `reveal` with the id of the job to bring into view. */
  get revealRequested(): ISignal<JobsModel, string> {
    return this._revealRequested;
  }

  /** Emitted when the model is disposed. */
  get disposed(): ISignal<JobsModel, void> {
    return this._disposed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Every known job, newest first. */
  get jobs(): readonly IJob[] {
    return this._jobs;
  }

  /** The jobs the filter keeps, newest first. */
  get filtered(): IJob[] {
    return this._jobs.filter(job => matchesFilter(job, this._filter));
  }

  get filter(): JobFilter {
    return this._filter;
  }

  set filter(filter: JobFilter) {
    if (filter !== this._filter) {
      this._filter = filter;
      this._changed.emit();
    }
  }

  /** How many jobs each filter keeps. */
  get counts(): Record<JobFilter, number> {
    const counts = {} as Record<JobFilter, number>;
    for (const filter of JOB_FILTERS) {
      counts[filter] = 0;
    }
    for (const job of this._jobs) {
      counts.all++;
      counts[job.status]++;
      if (!isFinal(job.status)) {
        counts.active++;
      }
    }
    return counts;
  }

  /** True while some job is accepted or running. */
  get active(): boolean {
    return this._jobs.some(job => !isFinal(job.status));
  }

  get loading(): boolean {
    return this._loading;
  }

  /** True once the list has been loaded from the server. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** A sentence when the list (or the last action) failed. */
  get error(): string | null {
    return this._error;
  }

  /** Whether the fallback poll timer is running (for tests and diagnostics). */
  get polling(): boolean {
    return this._timer !== null;
  }

  get(id: string): IJob | undefined {
    return this._jobs.find(job => job.id === id);
  }

  /**
   * Ask the views to bring a job into view (details open). The filter goes back to "all"
   * when it hides the job.
   */
  reveal(id: string): void {
    const job = this.get(id);
    if (job && !matchesFilter(job, this._filter)) {
      this.filter = 'all';
    }
    this._revealRequested.emit(id);
  }

  /** Reload the persisted list. */
  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    const generation = ++this._generation;
    const started = new Set(this._jobs.map(job => job.id));
    this._loading = true;
    this._changed.emit();
    try {
      const { jobs } = await listJobs();
      if (this._isDisposed || generation !== this._generation) {
        return;
      }
      const listed = new Set(jobs.map(job => job.id));
      // Jobs that appeared while the list was on its way (an event, a submission) stay.
      const kept = this._jobs.filter(
        job => !listed.has(job.id) && !started.has(job.id)
      );
      const current = new Map(this._jobs.map(job => [job.id, job]));
      this._jobs = [...jobs, ...kept]
        .map(job => {
          const local = current.get(job.id);
          return local && !newer(job, local) ? local : job;
        })
        .sort(byNewest);
      for (const job of this._jobs) {
        if (!isFinal(job.status)) {
          this._seenUnfinished.add(job.id);
        }
      }
      for (const job of jobs) {
        this._checkEnded(job.id);
      }
      this._loaded = true;
      this._error = null;
      this._lastNews = Date.now();
    } catch (error) {
      if (generation === this._generation) {
        this._error = messageOf(error);
      }
    } finally {
      if (generation === this._generation && !this._isDisposed) {
        this._loading = false;
        this._changed.emit();
        this._schedule();
      }
    }
  }

  /** Add or update a job (e.g. the one `executeProcess` just answered). */
  upsert(job: IJob): void {
    if (this._isDisposed) {
      return;
    }
    if (this._store(job)) {
      this._changed.emit();
    }
    this._checkEnded(job.id);
    this._schedule();
  }

  /** Dismiss a job (upstream where supported); the error, if any, lands in `error`. */
  async dismiss(id: string): Promise<void> {
    try {
      const job = await dismissJob(id);
      this._error = null;
      this.upsert(job);
    } catch (error) {
      this._error = messageOf(error);
      this._changed.emit();
    }
  }

  /** The raw requests and responses of a job (for service providers). */
  async exchange(id: string): Promise<IExchange[]> {
    const answer = await getJobExchange(id);
    return Array.isArray(answer.exchange) ? answer.exchange : [];
  }

  /** Code that reproduces the job outside eo_jlab. */
  snippet(
    id: string,
    language: SnippetLanguage = 'python',
    flavour: 'portable' | 'widgets' = 'portable'
  ): Promise<ISnippet> {
    return getJobSnippet(id, language, flavour);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _onEvent(_: unknown, emission: Event.Emission): void {
    if (this._isDisposed || emission.schema_id !== JOB_EVENT_SCHEMA_ID) {
      return;
    }
    const data = emission as unknown as IJobEvent;
    if (
      typeof data.job_id !== 'string' ||
      !JOB_STATUSES.includes(data.status)
    ) {
      return;
    }
    this._lastNews = Date.now();
    const id = data.job_id;
    const known = this.get(id);
    if (!known) {
      // Not listed yet (e.g. submitted from a notebook): fetch it; meanwhile keep the news.
      if (!isFinal(data.status)) {
        this._seenUnfinished.add(id);
      }
      this._pending.set(id, data);
      void this._fetch(id);
      return;
    }
    const patched = patch(known, data);
    if (patched) {
      this._store(patched);
      this._changed.emit();
    }
    if (patched && isFinal(data.status)) {
      // Results, finish time and error come with the job itself.
      void this._fetch(id, true);
    } else {
      this._checkEnded(id);
    }
    this._schedule();
  }

  /**
   * `GET jobs/{id}` merged into the list, one request at a time per job; `fresh` asks for
   * another request when one is already on its way (it may predate the news).
   */
  private _fetch(id: string, fresh = false): Promise<void> {
    const running = this._fetching.get(id);
    if (running) {
      if (fresh) {
        this._again.add(id);
      }
      return running;
    }
    const promise = (async () => {
      try {
        const job = await getJob(id);
        if (this._isDisposed) {
          return;
        }
        let changed = this._store(job);
        const pending = this._pending.get(id);
        const stored = this.get(id);
        if (pending && stored) {
          const patched = patch(stored, pending);
          if (patched) {
            changed = this._store(patched) || changed;
          }
        }
        if (changed) {
          this._changed.emit();
        }
      } catch (error) {
        if (error instanceof EOJLabRequestError && error.status === 404) {
          // The job is gone from the server's store: stop following it.
          this._remove(id);
        } else {
          console.warn(
            `eo_jlab: could not update job ${id}:`,
            messageOf(error)
          );
        }
      } finally {
        this._pending.delete(id);
        this._fetching.delete(id);
      }
      if (this._isDisposed) {
        return;
      }
      if (this._again.delete(id)) {
        await this._fetch(id);
        return;
      }
      this._checkEnded(id);
      this._schedule();
    })();
    this._fetching.set(id, promise);
    return promise;
  }

  /** Merge one job into the list; true when something changed. */
  private _store(job: IJob): boolean {
    const index = this._jobs.findIndex(j => j.id === job.id);
    if (index < 0) {
      this._insert(job);
      return true;
    }
    const existing = this._jobs[index];
    if (!newer(job, existing)) {
      return false;
    }
    if (!isFinal(job.status)) {
      this._seenUnfinished.add(job.id);
    }
    if (JSONExt.deepEqual(job as any, existing as any)) {
      return false;
    }
    this._jobs = [...this._jobs];
    this._jobs[index] = job;
    return true;
  }

  /** Insert keeping the server's order: created descending, then id. */
  private _insert(job: IJob): void {
    if (!isFinal(job.status)) {
      this._seenUnfinished.add(job.id);
    }
    const jobs = this._jobs.filter(j => j.id !== job.id);
    let at = jobs.findIndex(j => byNewest(job, j) < 0);
    if (at < 0) {
      at = jobs.length;
    }
    jobs.splice(at, 0, job);
    this._jobs = jobs;
  }

  private _remove(id: string): void {
    if (this.get(id)) {
      this._jobs = this._jobs.filter(job => job.id !== id);
      this._seenUnfinished.delete(id);
      this._changed.emit();
    }
  }

  private _checkEnded(id: string): void {
    const job = this.get(id);
    if (
      job &&
      isFinal(job.status) &&
      this._seenUnfinished.has(id) &&
      !this._ended.has(id)
    ) {
      this._ended.add(id);
      this._seenUnfinished.delete(id);
      this._jobEnded.emit(job);
    }
  }

  /** Keep one fallback timer while some job is unfinished; none otherwise. */
  private _schedule(): void {
    if (this._isDisposed || !this.active) {
      if (this._timer !== null) {
        clearTimeout(this._timer);
        this._timer = null;
      }
      return;
    }
    if (this._timer !== null) {
      return;
    }
    const wait = Math.max(0, this._lastNews + this._pollInterval - Date.now());
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._tick();
    }, wait);
  }

  private async _tick(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    if (Date.now() - this._lastNews >= this._pollInterval) {
      const unfinished = this._jobs.filter(job => !isFinal(job.status));
      await Promise.all(unfinished.map(job => this._fetch(job.id)));
      this._lastNews = Date.now();
    }
    this._schedule();
  }

  private _events: Event.IManager | null;
  private _pollInterval: number;
  private _lastNews: number;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _jobs: IJob[] = [];
  private _filter: JobFilter = 'all';
  private _loading = false;
  private _loaded = false;
  private _error: string | null = null;
  private _generation = 0;
  private _isDisposed = false;
  private _seenUnfinished = new Set<string>();
  private _ended = new Set<string>();
  private _fetching = new Map<string, Promise<void>>();
  private _pending = new Map<string, IJobEvent>();
  private _again = new Set<string>();
  private _changed = new Signal<JobsModel, void>(this);
  private _jobEnded = new Signal<JobsModel, IJob>(this);
  private _revealRequested = new Signal<JobsModel, string>(this);
  private _disposed = new Signal<JobsModel, void>(this);
}

/** `job` with an event's fields, or null when the event is stale or changes nothing. */
function patch(job: IJob, event: IJobEvent): IJob | null {
  const next: IJob = { ...job, status: event.status };
  if (event.progress !== undefined) {
    next.progress = event.progress;
  }
  if (typeof event.message === 'string') {
    next.message = event.message;
  }
  if (typeof event.updated === 'string') {
    next.updated = event.updated;
  }
  if (!newer(next, job)) {
    return null;
  }
  return next.status === job.status &&
    next.progress === job.progress &&
    next.message === job.message &&
    next.updated === job.updated
    ? null
    : next;
}

/** The server's order: created descending, then id ascending. */
function byNewest(a: IJob, b: IJob): number {
  if (a.created !== b.created) {
    return a.created < b.created ? 1 : -1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether `incoming` may replace `existing`: never back from final, never older. */
function newer(incoming: IJob, existing: IJob): boolean {
  if (isFinal(existing.status) && !isFinal(incoming.status)) {
    return false;
  }
  const a = Date.parse(incoming.updated);
  const b = Date.parse(existing.updated);
  if (Number.isNaN(a) || Number.isNaN(b)) {
    return true;
  }
  return a >= b;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A job status for people. */
export function statusLabel(
  status: JobStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'accepted':
      return trans.__('Accepted');
    case 'running':
      return trans.__('Running');
    case 'successful':
      return trans.__('Successful');
    case 'failed':
      return trans.__('Failed');
    case 'dismissed':
      return trans.__('Dismissed');
    default:
      return String(status);
  }
}

/** Notification messages are short: keep the first `max` characters. */
function shorten(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * Tell the user that a job ended (connect it to `JobsModel.jobEnded`): success closes by
 * itself after a few seconds, a failure stays; "Show" calls `onShow` with the job id.
 * Returns the notification id.
 */
export function notifyJobEnded(
  job: IJob,
  trans: TranslationBundle,
  onShow?: (id: string) => void
): string {
  const detail = shorten(
    (job.status === 'failed' && job.error) || job.message || '',
    100
  );
  const head = trans.__(
    '%1 (%2): %3',
    shorten(job.process, 40),
    shorten(job.service, 24),
    statusLabel(job.status, trans)
  );
  const message = detail ? `${head} — ${detail}` : head;
  const actions: Notification.IAction[] = onShow
    ? [
        {
          label: trans.__('Show'),
          caption: trans.__('Show the job in the Jobs section'),
          callback: () => onShow(job.id)
        }
      ]
    : [];
  switch (job.status) {
    case 'successful':
      return Notification.success(message, { autoClose: 5000, actions });
    case 'failed':
      return Notification.error(message, { autoClose: false, actions });
    default:
      return Notification.info(message, { autoClose: 5000, actions });
  }
}

/* ---- Result previews on the map ---- */

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const GEOJSON_TYPES = ['application/geo+json', 'application/vnd.geo+json'];
const GEOMETRY_TYPES = [
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon'
];

/** A media type without its parameters, lower case. */
export function baseMime(mime: string | null | undefined): string {
  return (mime ?? '').split(';')[0].trim().toLowerCase();
}

/** A GeoJSON geometry, Feature or FeatureCollection (shallow check). */
export function isGeoJSON(data: unknown): boolean {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return false;
  }
  const object = data as Record<string, unknown>;
  switch (object.type) {
    case 'FeatureCollection':
      return Array.isArray(object.features);
    case 'Feature':
      return 'geometry' in object;
    case 'GeometryCollection':
      return Array.isArray(object.geometries);
    default:
      return (
        GEOMETRY_TYPES.includes(object.type as string) &&
        Array.isArray(object.coordinates)
      );
  }
}

/** A JSON text parsed, or undefined. */
function parseJSON(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    return undefined;
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

const LATLON_CRS = [
  'urn:ogc:def:crs:epsg::4326',
  'urn:ogc:def:crs:epsg:6.6:4326',
  'urn:x-ogc:def:crs:epsg:4326',
  'http://www.opengis.net/def/crs/epsg/0/4326',
  'http://www.opengis.net/gml/srs/epsg.xml#4326'
];

/** Whether a CRS name means longitude/latitude degrees (any axis order); none = CRS84. */
function isGeographic(crs: unknown): boolean {
  if (crs === undefined || crs === null || crs === '') {
    return true;
  }
  const name = String(crs).toLowerCase();
  return name.includes('crs84') || /(^|[^0-9])4326$/.test(name);
}

function numbers(value: unknown): number[] | null {
  if (typeof value === 'string') {
    value = value.trim().split(/[\s,]+/);
  }
  if (!Array.isArray(value)) {
    return null;
  }
  const out = value.map(v => (typeof v === 'string' ? Number(v) : v));
  return out.every(v => typeof v === 'number' && Number.isFinite(v))
    ? (out as number[])
    : null;
}

function plausible(box: number[]): BBox | null {
  const [w, s, e, n] = box;
  if (w < -180 || e > 180 || s < -90 || n > 90 || !(w < e) || !(s < n)) {
    return null;
  }
  return [w, s, e, n];
}

/**
 * A lon/lat [w, s, e, n] from a bbox-ish value: `[w, s, e, n]` (or the 6-number 3D form),
 * `{bbox: [...], crs?}`, a WPS BoundingBox-ish `{lowerCorner, upperCorner, crs?}` (corners as
 * arrays or "x y" strings, lat/lon CRSs swapped), `{west, south, east, north}`, or a JSON
 * string of any of those. Null when it is none of them, not geographic, or out of range.
 */
export function parseBBox(value: unknown, depth = 0): BBox | null {
  if (depth > 3 || value === null || value === undefined) {
    return null;
  }
  if (typeof value === 'string') {
    const parsed = parseJSON(value);
    return parsed === undefined ? null : parseBBox(parsed, depth + 1);
  }
  if (Array.isArray(value)) {
    const n = numbers(value);
    if (n?.length === 4) {
      return plausible(n);
    }
    if (n?.length === 6) {
      return plausible([n[0], n[1], n[3], n[4]]);
    }
    return null;
  }
  if (typeof value !== 'object') {
    return null;
  }
  const object = value as Record<string, unknown>;
  const crs =
    object.crs ?? object.CRS ?? object['@crs'] ?? object.srs ?? undefined;
  if (!isGeographic(crs)) {
    return null;
  }
  if ('bbox' in object) {
    return parseBBox(object.bbox, depth + 1);
  }
  if ('value' in object) {
    return parseBBox(object.value, depth + 1);
  }
  const lower = numbers(
    object.lowerCorner ?? object.LowerCorner ?? object.lower_corner
  );
  const upper = numbers(
    object.upperCorner ?? object.UpperCorner ?? object.upper_corner
  );
  if (lower && upper && lower.length >= 2 && upper.length >= 2) {
    const latlon = LATLON_CRS.includes(String(crs ?? '').toLowerCase());
    return latlon
      ? plausible([lower[1], lower[0], upper[1], upper[0]])
      : plausible([lower[0], lower[1], upper[0], upper[1]]);
  }
  const edges = numbers([object.west, object.south, object.east, object.north]);
  if (edges) {
    return plausible(edges);
  }
  const minmax = numbers([object.minx, object.miny, object.maxx, object.maxy]);
  return minmax ? plausible(minmax) : null;
}

/**
 * Where an image result of `job` lies: a result named `extent` or `bbox` (any bbox-ish
 * value, see `parseBBox`), else an input given as `{bbox: [w, s, e, n]}` (inputs named
 * bbox/extent/aoi first), else null (the image is not previewed on the map).
 */
export function jobExtent(job: IJob): BBox | null {
  for (const result of job.results ?? []) {
    const id = result.id.toLowerCase();
    if (id === 'extent' || id === 'bbox') {
      const box = parseBBox(result.value);
      if (box) {
        return box;
      }
    }
  }
  const inputs = Object.entries(job.inputs ?? {});
  const preferred = ['bbox', 'extent', 'aoi'];
  inputs.sort(
    ([a], [b]) =>
      Number(!preferred.includes(a.toLowerCase())) -
      Number(!preferred.includes(b.toLowerCase()))
  );
  for (const [, raw] of inputs) {
    const value = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
    if (value && typeof value === 'object' && 'bbox' in value) {
      const box = parseBBox(value);
      if (box) {
        return box;
      }
    }
  }
  return null;
}

/**
 * How a result can be previewed on the map:
 * - `geojson`: an inline GeoJSON value (object or JSON text);
 * - `fetch-geojson`: a linked GeoJSON (or JSON, checked once fetched) result to fetch;
 * - `image`: a linked image to fetch and lay over the job's extent;
 * - `no-extent`: an image, but no extent is known;
 * - null: not on the map.
 */
export type PreviewKind =
  'geojson' | 'fetch-geojson' | 'image' | 'no-extent' | null;

/** A result's media type, guessed from its link's extension when the service gave none. */
export function resultMime(result: IJobResult): string {
  const mime = baseMime(result.mime_type);
  if (mime || !result.href) {
    return mime;
  }
  const path = result.href.split(/[?#]/)[0].toLowerCase();
  const extension = path.slice(path.lastIndexOf('.') + 1);
  return EXTENSIONS[extension] ?? '';
}

const EXTENSIONS: Record<string, string> = {
  geojson: 'application/geo+json',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp'
};

export function previewKind(job: IJob, result: IJobResult): PreviewKind {
  const mime = resultMime(result);
  const inline = result.value !== undefined && result.value !== null;
  if (inline) {
    const data =
      typeof result.value === 'string' ? parseJSON(result.value) : result.value;
    return isGeoJSON(data) ? 'geojson' : null;
  }
  if (!result.href) {
    return null; // no content to fetch (the server answers 404)
  }
  if (GEOJSON_TYPES.includes(mime) || mime === 'application/json') {
    return 'fetch-geojson';
  }
  if (IMAGE_TYPES.includes(mime)) {
    return jobExtent(job) ? 'image' : 'no-extent';
  }
  return null;
}

/** Whether a job has something that may show on the map. */
export function hasPreview(job: IJob): boolean {
  return (
    job.status === 'successful' &&
    (job.results ?? []).some(r => {
      const kind = previewKind(job, r);
      return kind !== null && kind !== 'no-extent';
    })
  );
}

/** The map overlay key of one result of one job. */
export function overlayKey(jobId: string, resultId: string): string {
  return `job:${jobId}:${resultId}`;
}

/** What one job's preview shows (or why not). */
export interface IJobPreview {
  busy: boolean;
  /** Overlay keys shown on the map. */
  keys: string[];
  /** Per result id: why it is not on the map. */
  problems: Record<string, IPreviewProblem>;
}

/** Why a result is not on the map: no extent known, not GeoJSON, or an error sentence. */
export interface IPreviewProblem {
  kind: 'no-extent' | 'not-geojson' | 'error';
  message?: string;
}

/**
 * The job results shown on the map. Images are fetched through the server and shown from
 * object URLs, revoked when their overlay is hidden, found cleared from the map, or when
 * this (or the jobs model it follows) is disposed.
 */
export class JobPreviews {
  constructor(
    readonly map: IEOMap,
    model?: JobsModel
  ) {
    model?.disposed.connect(() => this.dispose());
  }

  get changed(): ISignal<JobPreviews, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The preview state of a job, or undefined when it is not on the map. */
  preview(jobId: string): IJobPreview | undefined {
    return this._previews.get(jobId);
  }

  /** Whether some overlay of the job is on the map (or being prepared). */
  isShown(jobId: string): boolean {
    this.sync();
    const preview = this._previews.get(jobId);
    return !!preview && (preview.busy || preview.keys.length > 0);
  }

  /** Forget (and revoke the URLs of) overlays someone else cleared from the map. */
  sync(): void {
    const present = new Set(this.map.overlays);
    for (const [key, url] of [...this._urls]) {
      if (!present.has(key)) {
        URL.revokeObjectURL(url);
        this._urls.delete(key);
      }
    }
    for (const [id, preview] of [...this._previews]) {
      if (preview.busy) {
        continue;
      }
      const keys = preview.keys.filter(key => present.has(key));
      if (keys.length !== preview.keys.length) {
        if (keys.length || Object.keys(preview.problems).length) {
          this._previews.set(id, { ...preview, keys });
        } else {
          this._previews.delete(id);
        }
      }
    }
  }

  /** Show every previewable result of a successful job. */
  async show(job: IJob): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    this.hide(job.id, false);
    const generation = (this._generations.get(job.id) ?? 0) + 1;
    this._generations.set(job.id, generation);
    const preview: IJobPreview = { busy: true, keys: [], problems: {} };
    this._previews.set(job.id, preview);
    this._changed.emit();
    const current = () =>
      !this._isDisposed && this._generations.get(job.id) === generation;
    for (const result of job.results ?? []) {
      const kind = previewKind(job, result);
      if (kind === null) {
        continue;
      }
      const key = overlayKey(job.id, result.id);
      const fit = preview.keys.length === 0;
      try {
        if (kind === 'geojson') {
          const data =
            typeof result.value === 'string'
              ? parseJSON(result.value)
              : result.value;
          this.map.showGeoJSON(key, data, fit);
          preview.keys.push(key);
        } else if (kind === 'fetch-geojson') {
          const response = await fetchJobResult(job.id, result.id);
          const data = parseJSON(await response.text());
          if (!current()) {
            return;
          }
          if (isGeoJSON(data)) {
            this.map.showGeoJSON(key, data, fit);
            preview.keys.push(key);
          } else {
            preview.problems[result.id] = { kind: 'not-geojson' };
          }
        } else if (kind === 'image') {
          const extent = jobExtent(job)!;
          const response = await fetchJobResult(job.id, result.id);
          const blob = await response.blob();
          if (!current()) {
            return;
          }
          const url = URL.createObjectURL(blob);
          this._urls.set(key, url);
          this.map.showImage(key, url, extent, fit);
          preview.keys.push(key);
        } else {
          preview.problems[result.id] = { kind: 'no-extent' };
        }
      } catch (error) {
        if (!current()) {
          return;
        }
        preview.problems[result.id] = {
          kind: 'error',
          message: messageOf(error)
        };
      }
    }
    if (current()) {
      preview.busy = false;
      this._changed.emit();
    }
  }

  /** Remove a job's overlays from the map and revoke their URLs. */
  hide(jobId: string, emit = true): void {
    const preview = this._previews.get(jobId);
    this._generations.set(jobId, (this._generations.get(jobId) ?? 0) + 1);
    const prefix = overlayKey(jobId, '');
    for (const key of new Set([
      ...(preview?.keys ?? []),
      ...this.map.overlays.filter(k => k.startsWith(prefix))
    ])) {
      this.map.clearOverlays(key);
    }
    for (const [key, url] of [...this._urls]) {
      if (key.startsWith(prefix)) {
        URL.revokeObjectURL(url);
        this._urls.delete(key);
      }
    }
    if (preview) {
      this._previews.delete(jobId);
      if (emit) {
        this._changed.emit();
      }
    }
  }

  /** Show or hide. */
  toggle(job: IJob): Promise<void> {
    if (this.isShown(job.id)) {
      this.hide(job.id);
      return Promise.resolve();
    }
    return this.show(job);
  }

  /** Hide every job overlay and revoke every URL. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    for (const id of [...this._previews.keys()]) {
      this.hide(id, false);
    }
    for (const url of this._urls.values()) {
      URL.revokeObjectURL(url);
    }
    this._urls.clear();
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _previews = new Map<string, IJobPreview>();
  private _urls = new Map<string, string>();
  private _generations = new Map<string, number>();
  private _isDisposed = false;
  private _changed = new Signal<JobPreviews, void>(this);
}
