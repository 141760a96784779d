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
