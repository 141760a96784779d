import { ISignal, Signal } from '@lumino/signaling';

import { EOJLabRequestError, getConfig, probeEndpoint } from '../api';
import { EndpointHealth, IEOJLabConfig, IEOJLabModel } from '../tokens';

/** Loads the configuration and keeps the health of every endpoint. */
export class EOJLabModel implements IEOJLabModel {
  /** Probe endpoints after each refresh (the `probeEndpoints` setting). */
  probeEndpoints = true;

  get config(): IEOJLabConfig | null {
    return this._config;
  }

  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  get changed(): ISignal<IEOJLabModel, void> {
    return this._changed;
  }

  health(endpointId: string): EndpointHealth {
    return this._health.get(endpointId) ?? { state: 'unknown' };
  }

  async refresh(): Promise<void> {
    const generation = ++this._generation;
    this._loading = true;
    this._changed.emit();
    try {
      const config = await getConfig();
      if (generation !== this._generation) {
        return;
      }
      this._config = config;
      this._error = null;
      this._health.clear();
    } catch (error) {
      if (generation !== this._generation) {
        return;
      }
      this._error = messageOf(error);
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._changed.emit();
      }
    }
    if (this._config && this._error === null && this.probeEndpoints) {
      await this.probeAll();
    }
  }

  async probeAll(): Promise<void> {
    const config = this._config;
    if (!config) {
      return;
    }
    const generation = this._generation;
    const endpoints = [...config.catalogues, ...config.processing];
    for (const endpoint of endpoints) {
      this._health.set(endpoint.id, { state: 'checking' });
    }
    this._changed.emit();
    await Promise.all(
      endpoints.map(async endpoint => {
        let health: EndpointHealth;
        try {
          const result = await probeEndpoint(endpoint.id);
          health = {
            state: 'ok',
            title: result.title,
            elapsedMs: result.elapsed_ms,
            ...(result.detail ? { detail: result.detail } : {})
          };
        } catch (error) {
          health = {
            state: 'error',
            message: messageOf(error),
            status: error instanceof EOJLabRequestError ? error.status : 0
          };
        }
        if (generation === this._generation) {
          this._health.set(endpoint.id, health);
          this._changed.emit();
        }
      })
    );
  }

  private _config: IEOJLabConfig | null = null;
  private _error: string | null = null;
  private _loading = false;
  private _generation = 0;
  private _health = new Map<string, EndpointHealth>();
  private _changed = new Signal<IEOJLabModel, void>(this);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
