import * as api from '../api';
import { EOJLabModel } from '../models/config';
import { IEOJLabConfig } from '../tokens';

jest.mock('../api', () => {
  const actual = jest.requireActual('../api');
  return { ...actual, getConfig: jest.fn(), probeEndpoint: jest.fn() };
});

const getConfig = api.getConfig as jest.MockedFunction<typeof api.getConfig>;
const probeEndpoint = api.probeEndpoint as jest.MockedFunction<
  typeof api.probeEndpoint
>;

const CONFIG: IEOJLabConfig = {
  user: { name: 'alice' },
  catalogues: [
    { id: 'cdse', title: 'CDSE', protocol: 'stac', url: 'https://cdse/stac' }
  ],
  processing: [
    { id: 'wps', title: 'WPS', protocol: 'wps', url: 'http://wps/' },
    { id: 'sandbox', title: 'Sandbox', protocol: 'sandbox', url: '' }
  ],
  sharing: { enabled: false, mode: 'local' }
};

// endpoint id -> probe outcome
const PROBES: Record<string, () => Promise<any>> = {
  cdse: async () => ({
    id: 'cdse',
    ok: true,
    status: 200,
    title: 'Copernicus',
    elapsed_ms: 12.3
  }),
  wps: async () => {
    throw new api.EOJLabRequestError('The service did not answer.', 504);
  },
  sandbox: async () => ({
    id: 'sandbox',
    ok: true,
    status: null,
    title: 'Local sandbox (3 process files)',
    elapsed_ms: 1,
    detail: null
  })
};

const PARTIAL =
  'Indexed partially: the walk of this static catalogue stopped at the bound of 1,500 documents (c.EOJLab.static_index_max_documents)';

beforeEach(() => {
  getConfig.mockReset();
  probeEndpoint.mockReset();
  probeEndpoint.mockImplementation(id => PROBES[id]());
});

describe('EOJLabModel', () => {
  it('loads the configuration and probes every endpoint', async () => {
    getConfig.mockResolvedValue(CONFIG);
    const model = new EOJLabModel();
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(model.config).toEqual(CONFIG);
    expect(model.error).toBeNull();
    expect(model.loading).toBe(false);
    expect(model.health('cdse')).toEqual({
      state: 'ok',
      title: 'Copernicus',
      elapsedMs: 12.3
    });
    expect(model.health('wps')).toEqual({
      state: 'error',
      message: 'The service did not answer.',
      status: 504
    });
    expect(model.health('sandbox')).toEqual({
      state: 'ok',
      title: 'Local sandbox (3 process files)',
      elapsedMs: 1
    });
    expect(model.health('unknown-id')).toEqual({ state: 'unknown' });
    expect(probeEndpoint).toHaveBeenCalledTimes(3);
    expect(changes).toBeGreaterThanOrEqual(4);
  });

  it("keeps the probe's detail sentence", async () => {
    getConfig.mockResolvedValue(CONFIG);
    probeEndpoint.mockImplementation(async id => ({
      id,
      ok: true,
      status: 200,
      title: 'Huge',
      elapsed_ms: 3,
      detail: PARTIAL
    }));
    const model = new EOJLabModel();
    await model.refresh();
    expect(model.health('cdse')).toEqual({
      state: 'ok',
      title: 'Huge',
      elapsedMs: 3,
      detail: PARTIAL
    });
  });

  it('does not probe when probing is off', async () => {
    getConfig.mockResolvedValue(CONFIG);
    const model = new EOJLabModel();
    model.probeEndpoints = false;
    await model.refresh();
    expect(probeEndpoint).not.toHaveBeenCalled();
    expect(model.health('cdse')).toEqual({ state: 'unknown' });
  });

  it('keeps the error sentence when the configuration cannot load', async () => {
    getConfig.mockRejectedValue(
      new api.EOJLabRequestError(api.NOT_INSTALLED, 404)
    );
    const model = new EOJLabModel();
    await model.refresh();
    expect(model.config).toBeNull();
    expect(model.error).toBe(api.NOT_INSTALLED);
    expect(probeEndpoint).not.toHaveBeenCalled();
  });

  it('lets the newest refresh win', async () => {
    let resolveFirst: (c: IEOJLabConfig) => void = () => undefined;
    getConfig
      .mockImplementationOnce(
        () => new Promise(resolve => (resolveFirst = resolve))
      )
      .mockResolvedValueOnce({ ...CONFIG, user: { name: 'second' } });
    const model = new EOJLabModel();
    model.probeEndpoints = false;
    const first = model.refresh();
    await model.refresh();
    resolveFirst({ ...CONFIG, user: { name: 'first' } });
    await first;
    expect(model.config?.user.name).toBe('second');
  });
});
