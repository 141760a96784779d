/**
 * The only module that talks to the eo_jlab server extension.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IEOJLabConfig, IProbeResult } from './tokens';

/** An error of the eo-jlab REST API: `message` is the server's sentence, ready to show. */
export class EOJLabRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'EOJLabRequestError';
  }
}

export const NOT_INSTALLED =
  'The eo_jlab server extension is not running: ask your operator to install and enable it ' +
  '(jupyter server extension enable eo_jlab).';

/**
 * Call `{base_url}eo-jlab/{path}` and return its JSON body.
 *
 * Every failure becomes an `EOJLabRequestError` whose message is a sentence for people.
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'eo-jlab', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch {
    throw new EOJLabRequestError(
      'The Jupyter server could not be reached: check your connection.',
      0
    );
  }
  const text = await response.text();
  let body: any = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    if (body && typeof body.error === 'string') {
      throw new EOJLabRequestError(
        body.error,
        response.status,
        body.details ?? {}
      );
    }
    if (response.status === 404) {
      throw new EOJLabRequestError(NOT_INSTALLED, 404);
    }
    throw new EOJLabRequestError(
      `The Jupyter server answered HTTP ${response.status}.`,
      response.status
    );
  }
  if (body === null && text) {
    throw new EOJLabRequestError(
      'The Jupyter server answered with something that is not JSON.',
      response.status
    );
  }
  return body as T;
}

export function getConfig(): Promise<IEOJLabConfig> {
  return requestAPI<IEOJLabConfig>('config');
}

export function probeEndpoint(id: string): Promise<IProbeResult> {
  return requestAPI<IProbeResult>(`endpoints/${encodeURIComponent(id)}/probe`);
}
