import * as api from '../api';
import {
  baseType,
  crsShortName,
  initialValue,
  ProcessesModel
} from '../models/processes';
import { IJob, IProcessDescription, IProcessInput } from '../tokens';

jest.mock('../api', () => {
  const actual = jest.requireActual('../api');
  return {
    ...actual,
    getProcesses: jest.fn(),
    describeProcess: jest.fn(),
    executeProcess: jest.fn(),
    getSandbox: jest.fn(),
    startSandbox: jest.fn(),
    reloadSandbox: jest.fn(),
    getSandboxLog: jest.fn()
  };
});

const mocked = <T extends (...args: any[]) => any>(fn: T) =>
  fn as unknown as jest.MockedFunction<T>;

function input(id: string, patch: Partial<IProcessInput> = {}): IProcessInput {
  return {
    id,
    title: id,
    abstract: '',
    kind: 'literal',
    data_type: 'string',
    min_occurs: 1,
    max_occurs: 1,
    allowed_values: [],
    ranges: [],
    formats: [],
    crs: [],
    ...patch
  };
}

const DESCRIPTION: IProcessDescription = {
  id: 'ndvi',
  title: 'NDVI',
  abstract: 'Normalized difference vegetation index',
  version: '1.0',
  job_control: ['sync', 'async'],
  inputs: [
    input('threshold', {
      data_type: 'float',
      min_occurs: 0,
      ranges: [{ min: -1, max: 1 }],
      default: 0.3
    }),
    input('steps', { data_type: 'xs:integer', default: 5 }),
    input('method', { allowed_values: ['fast', 'exact'], default: 'fast' }),
    input('area', {
      kind: 'bbox',
      crs: ['urn:ogc:def:crs:OGC:1.3:CRS84', 'EPSG:4326']
    }),
    input('polygon', {
      kind: 'complex',
      min_occurs: 0,
      max_occurs: null,
      formats: [{ mime_type: 'application/geo+json', default: true }]
    }),
    input('verbose', { data_type: 'boolean', min_occurs: 0, default: false })
  ],
  outputs: []
};

const JOB: IJob = {
  id: 'job-1',
  service: 'sandbox',
  process: 'ndvi',
  status: 'accepted',
  progress: 0,
  message: '',
  created: '2026-01-01T00:00:00Z',
  updated: '2026-01-01T00:00:00Z',
  finished: null,
  inputs: {},
  results: [],
  remote: {}
};

async function openModel(): Promise<ProcessesModel> {
  mocked(api.getProcesses).mockResolvedValue({
    processes: [
      {
        id: 'ndvi',
        title: 'NDVI',
        abstract: 'vegetation',
        version: '1.0',
        job_control: ['sync', 'async']
      },
      {
        id: 'area_buffer',
        title: 'Area and buffer',
        abstract: 'GeoJSON polygon',
        version: null,
        job_control: ['sync']
      }
    ]
  });
  mocked(api.describeProcess).mockResolvedValue(DESCRIPTION);
  mocked(api.startSandbox).mockResolvedValue({
    dir: '/work/sandbox',
    running: true,
    processes: [],
    errors: [{ file: 'broken.py', line: 3, message: 'SyntaxError' }]
  });
  const model = new ProcessesModel({
    fileReader: async path => ({
      value:
        path === 'aoi.geojson'
          ? '{"type": "Point", "coordinates": [1, 2]}'
          : '',
      mimeType: 'application/json'
    })
  });
  model.setServices([
    { id: 'sandbox', title: 'Sandbox', protocol: 'sandbox', url: '' }
  ]);
  // The only service is chosen at once.
  await new Promise(resolve => setTimeout(resolve, 0));
  await model.selectProcess('ndvi');
  return model;
}

describe('data types', () => {
  it('maps WPS and JSON Schema names to form types', () => {
    expect(baseType('xs:integer')).toBe('integer');
    expect(baseType('http://www.w3.org/TR/xmlschema-2/#double')).toBe('number');
    expect(baseType('number')).toBe('number');
    expect(baseType('boolean')).toBe('boolean');
    expect(baseType('dateTime')).toBe('datetime');
    expect(baseType(null)).toBe('string');
  });

  it('prefills defaults', () => {
    expect(initialValue(DESCRIPTION.inputs[0])).toEqual({
      kind: 'literal',
      text: '0.3'
    });
    expect(initialValue(DESCRIPTION.inputs[3])).toMatchObject({
      kind: 'bbox',
      bbox: null,
      crs: 'urn:ogc:def:crs:OGC:1.3:CRS84'
    });
    expect(initialValue(DESCRIPTION.inputs[5])).toEqual({
      kind: 'boolean',
      checked: false
    });
  });
});

describe('CRS names', () => {
  it('shortens OGC and EPSG URNs and URLs, keeps anything else', () => {
    expect(crsShortName('urn:ogc:def:crs:OGC:1.3:CRS84')).toBe('CRS84');
    expect(crsShortName('urn:ogc:def:crs:OGC::CRS84')).toBe('CRS84');
    expect(crsShortName('urn:ogc:def:crs:EPSG::4326')).toBe('EPSG:4326');
    expect(crsShortName('urn:ogc:def:crs:EPSG:6.6:32631')).toBe('EPSG:32631');
    expect(crsShortName('http://www.opengis.net/def/crs/OGC/1.3/CRS84')).toBe(
      'CRS84'
    );
    expect(crsShortName('http://www.opengis.net/def/crs/EPSG/0/3857')).toBe(
      'EPSG:3857'
    );
    expect(crsShortName('EPSG:4326')).toBe('EPSG:4326');
    expect(crsShortName('urn:x-local:my-grid')).toBe('urn:x-local:my-grid');
  });
});

describe('ProcessesModel', () => {
  beforeEach(() => jest.clearAllMocks());

  it('lists, filters and opens processes, with sandbox errors', async () => {
    const model = await openModel();
    expect(model.processes.map(p => p.id)).toEqual(['ndvi', 'area_buffer']);
    expect(model.sandbox?.errors[0].file).toBe('broken.py');
    // Opening the sandbox starts it with a POST; the status GET (no side effect) is not used.
    expect(api.startSandbox).toHaveBeenCalledWith('sandbox');
    expect(api.getSandbox).not.toHaveBeenCalled();
    model.setFilter('geojson');
    expect(model.filtered.map(p => p.id)).toEqual(['area_buffer']);
    expect(model.process?.id).toBe('ndvi');
    expect(model.mode).toBe('async');
    // Optional inputs without default start empty; with a default they start filled.
    expect(model.values['polygon']).toEqual([]);
    expect(model.values['threshold']).toHaveLength(1);
  });

  it('refuses a form with missing or bad values, naming each input', async () => {
    const model = await openModel();
    model.setValue('threshold', 0, { kind: 'literal', text: '1.5' });
    model.setValue('steps', 0, { kind: 'literal', text: '2.5' });
    model.setValue('method', 0, { kind: 'literal', text: 'slow' });
    const submitted = await model.submit();
    expect(submitted).toBeNull();
    expect(api.executeProcess).not.toHaveBeenCalled();
    expect(model.errors).toEqual({
      threshold: 'Enter a value in [-1, 1].',
      steps: 'Enter a whole number.',
      method: 'Choose one of: fast, exact.',
      area: 'Required.'
    });
  });

  it('checks boxes and URLs', async () => {
    const model = await openModel();
    model.setValue('area', 0, {
      kind: 'bbox',
      bbox: [10, 46, 11, 45],
      crs: ''
    });
    model.addValue('polygon');
    model.setValue('polygon', 0, {
      kind: 'complex',
      source: 'url',
      href: 'file:///etc/passwd',
      path: '',
      text: '',
      mimeType: 'application/geo+json'
    });
    expect(model.validate()).toBe(false);
    expect(model.errors['area']).toBe(
      'The south edge must be below the north edge.'
    );
    expect(model.errors['polygon']).toBe('Enter an http(s) URL.');
  });

  it('builds the execution body the contract describes and submits it', async () => {
    const model = await openModel();
    model.setValue('area', 0, {
      kind: 'bbox',
      bbox: [10, 45, 11, 46],
      crs: 'urn:ogc:def:crs:OGC:1.3:CRS84'
    });
    model.addValue('polygon');
    model.addValue('polygon');
    model.setValue('polygon', 0, {
      kind: 'complex',
      source: 'url',
      href: 'https://example.org/aoi.geojson',
      path: '',
      text: '',
      mimeType: 'application/geo+json'
    });
    model.setValue('polygon', 1, {
      kind: 'complex',
      source: 'file',
      href: '',
      path: 'aoi.geojson',
      text: '',
      mimeType: 'application/geo+json'
    });
    model.setValue('verbose', 0, { kind: 'boolean', checked: true });
    mocked(api.executeProcess).mockResolvedValue(JOB);
    const seen: IJob[] = [];
    model.submitted.connect((_, job) => seen.push(job));
    const job = await model.submit();
    expect(job).toEqual(JOB);
    expect(seen).toEqual([JOB]);
    expect(api.executeProcess).toHaveBeenCalledWith('sandbox', 'ndvi', {
      mode: 'async',
      inputs: {
        threshold: 0.3,
        steps: 5,
        method: 'fast',
        area: { bbox: [10, 45, 11, 46], crs: 'urn:ogc:def:crs:OGC:1.3:CRS84' },
        polygon: [
          {
            href: 'https://example.org/aoi.geojson',
            mime_type: 'application/geo+json'
          },
          {
            value: { type: 'Point', coordinates: [1, 2] },
            mime_type: 'application/geo+json'
          }
        ],
        verbose: true
      }
    });
  });

  it('takes job control from the description when the list does not know it', async () => {
    const model = await openModel();
    const broken =
      "The WPS service lists the process 'retired' but could not describe it: Unknown process retired.";
    mocked(api.getProcesses).mockResolvedValue({
      processes: [
        { ...DESCRIPTION, job_control: [] },
        {
          id: 'retired',
          title: 'Retired',
          abstract: '',
          version: null,
          job_control: [],
          error: broken
        }
      ]
    });
    await model.loadProcesses();
    expect(model.processes[0].job_control).toEqual([]);
    await model.selectProcess('ndvi');
    expect(model.mode).toBe('async');
    expect(model.process?.job_control).toEqual(['sync', 'async']);
    expect(model.processes[0].job_control).toEqual(['sync', 'async']);
    mocked(api.describeProcess).mockRejectedValueOnce(
      new api.EOJLabRequestError(broken, 502)
    );
    await model.selectProcess('retired');
    expect(model.error).toBe(broken);
    expect(model.process?.id).toBe('ndvi'); // the open form stays
    expect(model.processes.map(p => p.id)).toEqual(['ndvi', 'retired']);
    expect(model.processes[1].error).toBe(broken);
  });

  it('keeps the server sentence when execution fails', async () => {
    const model = await openModel();
    model.setValue('area', 0, {
      kind: 'bbox',
      bbox: [10, 45, 11, 46],
      crs: ''
    });
    mocked(api.executeProcess).mockRejectedValue(
      new api.EOJLabRequestError('The service refused the input area.', 400)
    );
    expect(await model.submit()).toBeNull();
    expect(model.error).toBe('The service refused the input area.');
    expect(model.busy).toBeNull();
  });

  it('respects maxOccurs', async () => {
    const model = await openModel();
    const steps = model.process!.inputs.find(i => i.id === 'steps')!;
    expect(model.canAdd(steps)).toBe(false);
    model.addValue('steps');
    expect(model.values['steps']).toHaveLength(1);
  });

  it('reloads the sandbox and keeps the open form', async () => {
    const model = await openModel();
    model.setValue('steps', 0, { kind: 'literal', text: '9' });
    mocked(api.reloadSandbox).mockResolvedValue({
      processes: [
        {
          id: 'ndvi',
          title: 'NDVI',
          abstract: '',
          version: '1.1',
          job_control: ['async']
        }
      ],
      errors: []
    });
    await model.reloadSandbox();
    expect(model.sandbox?.errors).toEqual([]);
    expect(model.process?.id).toBe('ndvi');
    expect(model.values['steps']).toEqual([{ kind: 'literal', text: '9' }]);
  });
});
