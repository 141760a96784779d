import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** Protocols of the REST contract (DESIGN.md, "Discovery"). */
export type CatalogueProtocol = 'stac' | 'opensearch' | 'csw' | 'static';
export type ProcessingProtocol = 'wps' | 'ogcapi' | 'sandbox';

/** A configured catalogue or processing service, as `GET eo-jlab/config` lists it. */
export interface IEndpoint {
  id: string;
  title: string;
  protocol: CatalogueProtocol | ProcessingProtocol;
  url: string;
}

/** `GET eo-jlab/config`. */
export interface IEOJLabConfig {
  user: { name: string };
  catalogues: IEndpoint[];
  processing: IEndpoint[];
  sharing: { enabled: boolean; mode: 'local' | 'hub' };
}

/** `GET eo-jlab/endpoints/{id}/probe`. */
export interface IProbeResult {
  id: string;
  ok: boolean;
  status: number | null;
  title: string | null;
  elapsed_ms: number;
  detail?: string | null;
}

/** What the sidebar knows of one endpoint's health. */
export type EndpointHealth =
  | { state: 'unknown' }
  | { state: 'checking' }
  | {
      state: 'ok';
      title: string | null;
      elapsedMs: number;
      /** A sentence on its state (a static catalogue indexed partially). */
      detail?: string;
    }
  | { state: 'error'; message: string; status: number };

/** The shared eo_jlab state: configuration and endpoint health. */
export interface IEOJLabModel {
  /** The configuration, or null until loaded. */
  readonly config: IEOJLabConfig | null;
  /** A sentence when the configuration could not be loaded. */
  readonly error: string | null;
  readonly loading: boolean;
  /** Emitted whenever config, error, loading or health change. */
  readonly changed: ISignal<IEOJLabModel, void>;
  health(endpointId: string): EndpointHealth;
  /** Reload the configuration (and probe the endpoints when probing is on). */
  refresh(): Promise<void>;
  /** Ask every configured endpoint whether it answers. */
  probeAll(): Promise<void>;
}

export const IEOJLabModel = new Token<IEOJLabModel>(
  'eo_jlab:IEOJLabModel',
  'The eo_jlab configuration and endpoint health shared by its plugins.'
);

export const PLUGIN_ID = 'eo_jlab:plugin';

/** A GeoJSON geometry (lon/lat). */
export interface IGeometry {
  type: string;
  coordinates: any;
}

/** The contract's normalized catalogue `Item` (a GeoJSON Feature). */
export interface IItem {
  type: 'Feature';
  id: string;
  geometry: IGeometry | null;
  bbox: [number, number, number, number] | null;
  properties: {
    title?: string | null;
    datetime?: string | null;
    start_datetime?: string | null;
    end_datetime?: string | null;
    collection?: string | null;
    platform?: string | null;
    instrument?: string | null;
    product_type?: string | null;
    cloud_cover?: number | null;
    [key: string]: unknown;
  };
  assets: Record<
    string,
    {
      href: string;
      type?: string | null;
      title?: string | null;
      roles?: string[];
    }
  >;
  links: { rel: string; href: string; type?: string | null }[];
  thumbnail: string | null;
  source: { catalogue: string; protocol: string; href: string | null };
}

export interface ICollection {
  id: string;
  title: string;
  description: string;
  extent: unknown;
}

/** Filter values: a plain value (equality) or comparison operators. */
export type FilterValue =
  | string
  | number
  | boolean
  | Partial<Record<'lt' | 'lte' | 'gt' | 'gte' | 'eq', number | string>>;

/** `POST catalogues/{cid}/search`. */
export interface ISearchRequest {
  collections?: string[];
  bbox?: [number, number, number, number];
  intersects?: IGeometry;
  datetime?: string;
  q?: string;
  filters?: Record<string, FilterValue>;
  limit?: number;
  page_token?: string;
  count?: boolean;
}

export interface ISearchPage {
  type: 'FeatureCollection';
  features: IItem[];
  next_page_token: string | null;
  number_matched: number | null;
}

/** A JSON Schema property of a collection's queryables. */
export interface IQueryable {
  type?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  enum?: (string | number)[];
}

export interface IQueryables {
  properties?: Record<string, IQueryable>;
}

export type SnippetLanguage = 'python' | 'r' | 'shell';

export interface ISnippet {
  code: string;
  language: SnippetLanguage;
  requires: string[];
}

/** The drag payload of a search result (HTML5 drag and drop). */
export const ITEM_MIME = 'application/vnd.eo-jlab.item+json';

/* ---- Processing and jobs (DESIGN.md, "Processing and jobs") ---- */

export type JobControl = 'sync' | 'async';
export type JobStatus =
  'accepted' | 'running' | 'successful' | 'failed' | 'dismissed';
export const FINAL_JOB_STATUSES: JobStatus[] = [
  'successful',
  'failed',
  'dismissed'
];

/** An entry of `GET processing/{sid}/processes`. */
export interface IProcessSummary {
  id: string;
  title: string;
  abstract: string;
  version: string | null;
  /** In a list, empty while not yet known (a WPS list is the capabilities alone). */
  job_control: JobControl[];
  /** In a list: why the service could not describe this process (once known). */
  error?: string;
}

export interface IFormat {
  mime_type: string;
  encoding?: string | null;
  schema?: string | null;
  default: boolean;
}

export interface IRange {
  min: number | string | null;
  max: number | string | null;
  step?: number | string | null;
}

/** The contract's process `Input`. */
export interface IProcessInput {
  id: string;
  title: string;
  abstract: string;
  kind: 'literal' | 'complex' | 'bbox';
  data_type?: string | null;
  min_occurs: number;
  /** null = unbounded */
  max_occurs: number | null;
  default?: unknown;
  allowed_values: unknown[];
  ranges: IRange[];
  formats: IFormat[];
  crs: string[];
}

export interface IProcessOutput {
  id: string;
  title: string;
  abstract: string;
  kind: 'literal' | 'complex' | 'bbox';
  formats: IFormat[];
}

/** `GET processing/{sid}/processes/{pid}`. */
export interface IProcessDescription extends IProcessSummary {
  inputs: IProcessInput[];
  outputs: IProcessOutput[];
}

/** One input value of an execution request. */
export type ExecutionValue =
  | string
  | number
  | boolean
  | { href: string; mime_type?: string }
  | { value: unknown; mime_type?: string }
  | { bbox: [number, number, number, number]; crs?: string };

/** `POST processing/{sid}/processes/{pid}/execution`. */
export interface IExecutionRequest {
  inputs: Record<string, ExecutionValue | ExecutionValue[]>;
  outputs?: Record<string, { mime_type?: string; reference?: boolean }>;
  mode: 'sync' | 'async' | 'auto';
}

export interface IJobResult {
  id: string;
  href?: string | null;
  value?: unknown;
  mime_type?: string | null;
}

/** The contract's `Job`. */
export interface IJob {
  id: string;
  service: string;
  process: string;
  status: JobStatus;
  progress: number | null;
  message: string;
  created: string;
  updated: string;
  finished: string | null;
  inputs: Record<string, unknown>;
  results: IJobResult[];
  error?: string | null;
  remote: { status_url?: string | null; job_id?: string | null };
}

/** One raw request/response pair of `GET jobs/{jid}/exchange`. */
export interface IExchange {
  method: string;
  url: string;
  request_body: string | null;
  status: number | null;
  response_body: string | null;
  [key: string]: unknown;
}

/** A load error of a sandbox process file. */
export interface ISandboxError {
  file: string;
  line: number | null;
  message: string;
}

/** `GET processing/{sid}/sandbox`. */
export interface ISandboxStatus {
  dir: string;
  running: boolean;
  processes: IProcessSummary[];
  errors: ISandboxError[];
}

/**
 * The sidebar map, shared by the sections: Processes draws bounding boxes on it, Jobs
 * previews results on it. `reveal` unfolds the Search section that holds it.
 */
export interface IEOMap {
  reveal(): void;
  /** Let the user drag a box; resolves with [w, s, e, n] (lon/lat) or null if cancelled. */
  drawBox(): Promise<[number, number, number, number] | null>;
  /** Show (or with null, clear) the box of the process form being edited. */
  showBox(bbox: [number, number, number, number] | null): void;
  /** Show GeoJSON (a geometry, Feature or FeatureCollection) as an overlay named `key`. */
  showGeoJSON(key: string, data: unknown, fit?: boolean): void;
  /** Show an image (e.g. a PNG result) stretched over [w, s, e, n] as overlay `key`. */
  showImage(
    key: string,
    url: string,
    extent: [number, number, number, number],
    fit?: boolean
  ): void;
  /** Remove overlay `key`, or all overlays when no key is given. */
  clearOverlays(key?: string): void;
  /** The keys of the overlays shown. */
  readonly overlays: string[];
}

/* ---- Sharing (DESIGN.md, "Sharing") ---- */

/** The lists of `GET shares?scope=...`. */
export type ShareScope = 'with-me' | 'by-me' | 'public';

/** Who a share is for. */
export interface IShareRecipients {
  users: string[];
  groups: string[];
  public: boolean;
}

/** One version of a share (the server lists them in `GET shares/{sid}`). */
export interface IShareVersion {
  version: number;
  created: string;
  size: number;
  message: string;
}

/** The contract's `Share`. */
export interface IShare {
  id: string;
  owner: string;
  name: string;
  kind: 'file' | 'directory';
  version: number;
  created: string;
  updated: string;
  message: string;
  recipients: IShareRecipients;
  /** Bytes of the latest version. */
  size: number;
  /** Paths of the latest version's files, relative to the share (`GET shares/{sid}`;
   * lists leave them out). */
  files?: string[];
  versions?: IShareVersion[];
}

/** `POST shares`. */
export interface IShareRequest {
  path: string;
  recipients: IShareRecipients;
  message?: string;
}
