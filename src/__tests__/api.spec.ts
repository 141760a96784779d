import { ServerConnection } from '@jupyterlab/services';

import {
  assetUrl,
  EOJLabRequestError,
  NOT_INSTALLED,
  requestAPI
} from '../api';

/** Settings whose fetch answers from a table: path suffix -> [status, body, content type]. */
function settingsAnswering(
  status: number,
  body: string,
  type = 'application/json'
): { settings: ServerConnection.ISettings; calls: string[] } {
  const calls: string[] = [];
  const fetch = jest.fn(async (input: RequestInfo) => {
    calls.push(typeof input === 'string' ? input : input.url);
    return new Response(body, { status, headers: { 'Content-Type': type } });
  });
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/alice/',
    fetch: fetch as any
  });
  return { settings, calls };
}

describe('requestAPI', () => {
  it('returns the JSON body and joins the path under eo-jlab/', async () => {
    const { settings, calls } = settingsAnswering(200, '{"catalogues": []}');
    await expect(requestAPI('catalogues', {}, settings)).resolves.toEqual({
      catalogues: []
    });
    expect(calls[0].split('?')[0]).toBe(
      'http://localhost:8888/user/alice/eo-jlab/catalogues'
    );
  });

  it('turns a contract error body into an EOJLabRequestError', async () => {
    const { settings } = settingsAnswering(
      502,
      JSON.stringify({
        error: 'The service at h:1 answered HTTP 500.',
        details: { status: 500 }
      })
    );
    const error: any = await requestAPI(
      'endpoints/x/probe',
      {},
      settings
    ).catch(e => e);
    expect(error).toBeInstanceOf(EOJLabRequestError);
    expect(error.message).toBe('The service at h:1 answered HTTP 500.');
    expect(error.status).toBe(502);
    expect(error.details).toEqual({ status: 500 });
  });

  it('says the server extension is missing on an HTML 404', async () => {
    const { settings } = settingsAnswering(
      404,
      '<html>404</html>',
      'text/html'
    );
    await expect(requestAPI('config', {}, settings)).rejects.toThrow(
      NOT_INSTALLED
    );
  });

  it('names the status of any other non-JSON failure', async () => {
    const { settings } = settingsAnswering(500, 'oops', 'text/plain');
    await expect(requestAPI('config', {}, settings)).rejects.toThrow(
      'The Jupyter server answered HTTP 500.'
    );
  });

  it('refuses a successful answer that is not JSON', async () => {
    const { settings } = settingsAnswering(200, '<html></html>', 'text/html');
    await expect(requestAPI('config', {}, settings)).rejects.toThrow(
      'not JSON'
    );
  });

  it('reports an unreachable server in a sentence', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as any
    });
    await expect(requestAPI('config', {}, settings)).rejects.toThrow(
      'The Jupyter server could not be reached'
    );
  });
});

describe('assetUrl', () => {
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/alice/'
  });
  const route =
    'http://localhost:8888/user/alice/eo-jlab/catalogues/demo/quicklook?href=';

  it('opens local images through the quicklook route', () => {
    expect(
      assetUrl(
        'demo',
        { href: '/data/a b/visual.png', type: 'image/png' },
        settings
      )
    ).toBe(`${route}${encodeURIComponent('/data/a b/visual.png')}`);
    expect(assetUrl('demo', { href: 'file:///data/q.JPG' }, settings)).toBe(
      `${route}${encodeURIComponent('file:///data/q.JPG')}`
    );
  });

  it('opens http(s) addresses as they are', () => {
    expect(
      assetUrl(
        'demo',
        { href: 'https://example.org/b04.tif', type: 'image/tiff' },
        settings
      )
    ).toBe('https://example.org/b04.tif');
  });

  it('gives no address the browser cannot or must not follow', () => {
    for (const asset of [
      { href: 'javascript:alert(1)', type: 'image/png' },
      { href: 'JavaScript:alert(1)' },
      { href: 'data:image/png;base64,AAAA' },
      { href: 's3://bucket/b04.tif' },
      { href: '/data/b04.tif', type: 'image/tiff; application=geotiff' },
      { href: '/data/logo.svg', type: 'image/svg+xml' },
      { href: '/data/metadata.xml' }
    ]) {
      expect(assetUrl('demo', asset, settings)).toBeNull();
    }
  });
});
