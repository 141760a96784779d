/**
 * The only module that talks to the eo_jlab server extension.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  ICollection,
  IEOJLabConfig,
  IExchange,
  IExecutionRequest,
  IItem,
  IJob,
  IProcessDescription,
  IProcessSummary,
  ISandboxError,
  ISandboxStatus,
  IProbeResult,
  IQueryables,
  ISearchPage,
  ISearchRequest,
  IShare,
  IShareRequest,
  ISnippet,
  ShareScope,
  SnippetLanguage
} from './tokens';

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

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json' }
});

export function getCollections(
  catalogue: string
): Promise<{ collections: ICollection[] }> {
  return requestAPI(`catalogues/${encodeURIComponent(catalogue)}/collections`);
}

export function getQueryables(
  catalogue: string,
  collection: string
): Promise<IQueryables> {
  return requestAPI(
    `catalogues/${encodeURIComponent(catalogue)}/collections/${encodeURIComponent(collection)}/queryables`
  );
}

export function searchCatalogue(
  catalogue: string,
  request: ISearchRequest
): Promise<ISearchPage> {
  return requestAPI(
    `catalogues/${encodeURIComponent(catalogue)}/search`,
    json(request)
  );
}

/** Where the browser loads an item's quicklook: through the server (local files, auth). */
export function quicklookUrl(
  catalogue: string,
  href: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return (
    URLExt.join(
      settings.baseUrl,
      'eo-jlab',
      'catalogues',
      encodeURIComponent(catalogue),
      'quicklook'
    ) + `?href=${encodeURIComponent(href)}`
  );
}

const IMAGE_FILE = /\.(png|jpe?g|gif|webp)$/i;

/**
 * Where the browser opens an item's asset: an image of a local (static) catalogue through
 * the quicklook route, an http(s) address as it is; null when the browser has no way to
 * it (a local file that is not an image, s3://, javascript: ...).
 */
export function assetUrl(
  catalogue: string,
  asset: { href: string; type?: string | null },
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string | null {
  const href = asset.href.trim();
  if (/^https?:\/\//i.test(href)) {
    return href;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) && !/^file:/i.test(href)) {
    return null;
  }
  return isBrowserImage(asset) ? quicklookUrl(catalogue, href, settings) : null;
}

/** A picture a browser shows: an image type but SVG or TIFF, else a picture file name. */
export function isBrowserImage(asset: {
  href: string;
  type?: string | null;
}): boolean {
  const type = (asset.type ?? '').toLowerCase();
  return type
    ? type.startsWith('image/') &&
        !type.includes('svg') &&
        !type.includes('tiff')
    : IMAGE_FILE.test(asset.href.trim());
}

export function getItemSnippet(
  catalogue: string,
  item: IItem,
  language: SnippetLanguage,
  flavour: 'portable' | 'widgets'
): Promise<ISnippet> {
  return requestAPI(
    'snippets',
    json({ target: { kind: 'item', catalogue, item }, language, flavour })
  );
}

/* ---- Processing and jobs ---- */

const seg = encodeURIComponent;

export function getProcesses(
  service: string
): Promise<{ processes: IProcessSummary[] }> {
  return requestAPI(`processing/${seg(service)}/processes`);
}

export function describeProcess(
  service: string,
  process: string
): Promise<IProcessDescription> {
  return requestAPI(`processing/${seg(service)}/processes/${seg(process)}`);
}

/** Submit a job: resolves with the Job (finished for sync, accepted/running for async). */
export function executeProcess(
  service: string,
  process: string,
  request: IExecutionRequest
): Promise<IJob> {
  return requestAPI(
    `processing/${seg(service)}/processes/${seg(process)}/execution`,
    json(request)
  );
}

export function listJobs(status?: string): Promise<{ jobs: IJob[] }> {
  return requestAPI(
    status ? `jobs?status=${encodeURIComponent(status)}` : 'jobs'
  );
}

export function getJob(job: string): Promise<IJob> {
  return requestAPI(`jobs/${seg(job)}`);
}

export function dismissJob(job: string): Promise<IJob> {
  return requestAPI(`jobs/${seg(job)}`, { method: 'DELETE' });
}

export function getJobExchange(
  job: string
): Promise<{ exchange: IExchange[] } & Record<string, unknown>> {
  return requestAPI(`jobs/${seg(job)}/exchange`);
}

/** Where the browser loads a job's result (through the server: sandbox, auth, CORS). */
export function jobResultUrl(
  job: string,
  output: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return URLExt.join(
    settings.baseUrl,
    'eo-jlab',
    'jobs',
    seg(job),
    'results',
    seg(output)
  );
}

/** Fetch a job result's bytes through the server (with the session's credentials). */
export async function fetchJobResult(
  job: string,
  output: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<Response> {
  return fetchBytes(jobResultUrl(job, output, settings), settings);
}

export function getProcessSnippet(
  service: string,
  process: string,
  request: IExecutionRequest,
  language: SnippetLanguage,
  flavour: 'portable' | 'widgets'
): Promise<ISnippet> {
  return requestAPI(
    'snippets',
    json({
      target: { kind: 'process', service, process, request },
      language,
      flavour
    })
  );
}

export function getJobSnippet(
  job: string,
  language: SnippetLanguage,
  flavour: 'portable' | 'widgets'
): Promise<ISnippet> {
  return requestAPI(
    'snippets',
    json({ target: { kind: 'job', job }, language, flavour })
  );
}

/* ---- The local PyWPS sandbox ---- */

/** The sandbox's state; starts nothing (a stopped sandbox: `running: false`). */
export function getSandbox(service: string): Promise<ISandboxStatus> {
  return requestAPI(`processing/${seg(service)}/sandbox`);
}

/** Start the sandbox when it is not running; resolves with its state. */
export function startSandbox(service: string): Promise<ISandboxStatus> {
  return requestAPI(`processing/${seg(service)}/sandbox/start`, {
    method: 'POST'
  });
}

export function reloadSandbox(
  service: string
): Promise<{ processes: IProcessSummary[]; errors: ISandboxError[] }> {
  return requestAPI(`processing/${seg(service)}/reload`, { method: 'POST' });
}

export function getSandboxLog(
  service: string,
  tail = 200
): Promise<{ log: string }> {
  return requestAPI(`processing/${seg(service)}/log?tail=${tail}`);
}

/* ---- Sharing ---- */

export function listShares(scope: ShareScope): Promise<{ shares: IShare[] }> {
  return requestAPI(`shares?scope=${encodeURIComponent(scope)}`);
}

export function getShare(share: string): Promise<IShare> {
  return requestAPI(`shares/${seg(share)}`);
}

export function createShare(request: IShareRequest): Promise<IShare> {
  return requestAPI('shares', json(request));
}

/** A new version of one of my shares, from my current file(s). */
export function newShareVersion(
  share: string,
  message?: string
): Promise<IShare> {
  return requestAPI(
    `shares/${seg(share)}/versions`,
    json(message ? { message } : {})
  );
}

export async function deleteShare(share: string): Promise<void> {
  await requestAPI(`shares/${seg(share)}`, { method: 'DELETE' });
}

/** Copy a share into my workspace (never overwrites); resolves with the copy's path. */
export function copyShare(
  share: string,
  destination?: string
): Promise<{ path: string }> {
  return requestAPI(
    `shares/${seg(share)}/copy`,
    json(destination ? { destination } : {})
  );
}

/** Where the browser reads one file of a share (read-only). */
export function sharedFileUrl(
  share: string,
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return URLExt.join(
    settings.baseUrl,
    'eo-jlab',
    'shares',
    seg(share),
    'files',
    ...path.split('/').filter(Boolean).map(seg)
  );
}

/** Fetch one file of a share through the server (with the session's credentials). */
export async function fetchSharedFile(
  share: string,
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<Response> {
  return fetchBytes(sharedFileUrl(share, path, settings), settings);
}

/**
 * GET a non-JSON answer of the server (a job result, a shared file) as a Response; failures
 * become `EOJLabRequestError`s with the server's sentence, as `requestAPI` gives them.
 */
async function fetchBytes(
  url: string,
  settings: ServerConnection.ISettings
): Promise<Response> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, {}, settings);
  } catch {
    throw new EOJLabRequestError(
      'The Jupyter server could not be reached: check your connection.',
      0
    );
  }
  if (!response.ok) {
    let message = `The Jupyter server answered HTTP ${response.status}.`;
    try {
      const body = await response.json();
      if (typeof body.error === 'string') {
        message = body.error;
      }
    } catch {
      // not JSON: keep the generic sentence
    }
    throw new EOJLabRequestError(message, response.status);
  }
  return response;
}

/**
 * Names the recipient picker may suggest (`GET shares/users` or `shares/groups`, hub mode).
 * The routes are optional: null when the server has none (404, 400, 405, 501).
 */
export async function listShareNames(
  what: 'users' | 'groups'
): Promise<string[] | null> {
  let body: unknown;
  try {
    body = await requestAPI<unknown>(`shares/${what}`);
  } catch (error) {
    if (
      error instanceof EOJLabRequestError &&
      [400, 404, 405, 501].includes(error.status)
    ) {
      return null;
    }
    throw error;
  }
  const list = Array.isArray(body)
    ? body
    : body && typeof body === 'object'
      ? (body as Record<string, unknown>)[what]
      : null;
  if (!Array.isArray(list)) {
    return null;
  }
  const names = list
    .map(entry =>
      typeof entry === 'string'
        ? entry
        : entry && typeof entry === 'object' && 'name' in entry
          ? String((entry as { name: unknown }).name)
          : ''
    )
    .filter(Boolean);
  return Array.from(new Set(names)).sort();
}
