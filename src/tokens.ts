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
  | { state: 'ok'; title: string | null; elapsedMs: number }
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
