import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

import { Notification } from '@jupyterlab/apputils';
import type { Event } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import * as api from '../api';
import {
  ExchangeView,
  formatDuration,
  JobsPanel,
  prettyBody
} from '../components/JobsPanel';
import {
  JOB_EVENT_SCHEMA_ID,
  jobExtent,
  JobPreviews,
  JobsModel,
  notifyJobEnded,
  parseBBox,
  previewKind
} from '../models/jobs';
import { IEOMap, IJob } from '../tokens';

// The real apputils pulls in ES-module web components jest does not transform here.
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    success: jest.fn(() => 'n1'),
    error: jest.fn(() => 'n2'),
    info: jest.fn(() => 'n3')
  }
}));

jest.mock('../api', () => {
  const actual = jest.requireActual('../api');
  return {
    ...actual,
    listJobs: jest.fn(),
    getJob: jest.fn(),
    dismissJob: jest.fn(),
    getJobExchange: jest.fn(),
    getJobSnippet: jest.fn(),
    fetchJobResult: jest.fn()
  };
});

const listJobs = api.listJobs as jest.MockedFunction<typeof api.listJobs>;
const getJob = api.getJob as jest.MockedFunction<typeof api.getJob>;
const dismissJob = api.dismissJob as jest.MockedFunction<typeof api.dismissJob>;
const fetchJobResult = api.fetchJobResult as jest.MockedFunction<
  typeof api.fetchJobResult
>;

const trans = nullTranslator.load('eo_jlab');

function job(id: string, patch: Partial<IJob> = {}): IJob {
  return {
    id,
    service: 'demo',
    process: 'ndvi',
    status: 'running',
    progress: 10,
    message: 'Working',
    created: '2025-01-01T10:00:00.000Z',
    updated: '2025-01-01T10:00:00.000Z',
    finished: null,
    inputs: {},
    results: [],
    error: null,
    remote: {},
    ...patch
  };
}

/** A stand-in for `app.serviceManager.events`: a signal the test emits on. */
class FakeEvents {
  readonly stream = new Signal<any, Event.Emission>(this);
  readonly serverSettings: any = {};
  isDisposed = false;
  async emit(): Promise<void> {
    // not used
  }
  dispose(): void {
    this.isDisposed = true;
  }
  send(data: Record<string, unknown>, schema = JOB_EVENT_SCHEMA_ID): void {
    this.stream.emit({ schema_id: schema, ...data } as Event.Emission);
  }
}

/** Let pending promises settle. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

let models: JobsModel[] = [];
function create(events: FakeEvents | null = new FakeEvents()): JobsModel {
  const model = new JobsModel({
    events: events as unknown as Event.IManager
  });
  models.push(model);
  return model;
}

beforeEach(() => {
  listJobs.mockReset();
  getJob.mockReset();
  dismissJob.mockReset();
  fetchJobResult.mockReset();
});

afterEach(() => {
  models.forEach(m => m.dispose());
  models = [];
  jest.useRealTimers();
});

describe('JobsModel', () => {
  it('loads the persisted list newest first and filters it', async () => {
    listJobs.mockResolvedValue({
      jobs: [
        job('b', { created: '2025-01-02T00:00:00.000Z' }),
        job('a', { status: 'successful', progress: 100 }),
        job('c', {
          status: 'failed',
          created: '2024-12-31T00:00:00.000Z'
        })
      ]
    });
    const model = create(null);
    await model.refresh();
    expect(model.loaded).toBe(true);
    expect(model.jobs.map(j => j.id)).toEqual(['b', 'a', 'c']);
    expect(model.counts).toMatchObject({
      all: 3,
      active: 1,
      running: 1,
      successful: 1,
      failed: 1,
      dismissed: 0
    });
    let changes = 0;
    model.changed.connect(() => changes++);
    model.filter = 'active';
    expect(model.filtered.map(j => j.id)).toEqual(['b']);
    model.filter = 'failed';
    expect(model.filtered.map(j => j.id)).toEqual(['c']);
    model.filter = 'failed';
    expect(changes).toBe(2);
    model.filter = 'all';
    expect(model.filtered).toHaveLength(3);
  });

  it('keeps the error sentence when the list fails', async () => {
    listJobs.mockRejectedValue(
      new api.EOJLabRequestError('The job store is not readable.', 500)
    );
    const model = create(null);
    await model.refresh();
    expect(model.error).toBe('The job store is not readable.');
    expect(model.loading).toBe(false);
  });

  it('updates progress and status in place from events', async () => {
    const events = new FakeEvents();
    listJobs.mockResolvedValue({ jobs: [job('j1', { progress: 10 })] });
    const model = create(events);
    await model.refresh();
    const before = model.jobs;
    events.send({
      job_id: 'j1',
      status: 'running',
      progress: 55,
      message: 'Halfway',
      updated: '2025-01-01T10:00:05.000Z'
    });
    expect(model.get('j1')).toMatchObject({
      status: 'running',
      progress: 55,
      message: 'Halfway'
    });
    expect(model.jobs).not.toBe(before); // a new array: React sees the change
    expect(getJob).not.toHaveBeenCalled();

    // Another schema, or an older event, changes nothing.
    events.send(
      { job_id: 'j1', status: 'failed', updated: '2025-01-01T10:00:09.000Z' },
      'https://events.jupyter.org/other'
    );
    events.send({
      job_id: 'j1',
      status: 'running',
      progress: 20,
      updated: '2025-01-01T10:00:01.000Z'
    });
    expect(model.get('j1')!.progress).toBe(55);
    expect(model.get('j1')!.status).toBe('running');
  });

  it('fetches the final job for its results and signals the end once', async () => {
    const events = new FakeEvents();
    listJobs.mockResolvedValue({
      jobs: [job('j1'), job('done', { status: 'successful' })]
    });
    const model = create(events);
    await model.refresh();
    const ended: IJob[] = [];
    model.jobEnded.connect((_, j) => ended.push(j));
    const final = job('j1', {
      status: 'successful',
      progress: 100,
      message: 'Done',
      updated: '2025-01-01T10:01:00.000Z',
      finished: '2025-01-01T10:01:00.000Z',
      results: [{ id: 'out', value: 42 }]
    });
    getJob.mockResolvedValue(final);
    events.send({
      job_id: 'j1',
      status: 'successful',
      progress: 100,
      message: 'Done',
      updated: '2025-01-01T10:01:00.000Z'
    });
    expect(model.get('j1')!.status).toBe('successful');
    await flush();
    expect(getJob).toHaveBeenCalledWith('j1');
    expect(model.get('j1')!.results).toEqual([{ id: 'out', value: 42 }]);
    expect(ended.map(j => j.id)).toEqual(['j1']);
    expect(ended[0].results).toHaveLength(1);

    // The same news again, a refresh, an upsert: no second signal.
    events.send({
      job_id: 'j1',
      status: 'successful',
      updated: '2025-01-01T10:01:00.000Z'
    });
    listJobs.mockResolvedValue({
      jobs: [final, job('done', { status: 'successful' })]
    });
    await model.refresh();
    model.upsert(final);
    await flush();
    expect(ended).toHaveLength(1);
    // "done" was final when first seen: never signalled.
    expect(ended.some(j => j.id === 'done')).toBe(false);
  });

  it('fetches a job it does not list yet and follows it to its end', async () => {
    const events = new FakeEvents();
    listJobs.mockResolvedValue({ jobs: [] });
    const model = create(events);
    await model.refresh();
    const ended: IJob[] = [];
    model.jobEnded.connect((_, j) => ended.push(j));

    getJob.mockResolvedValueOnce(
      job('new', { status: 'accepted', progress: null })
    );
    events.send({ job_id: 'new', status: 'accepted', progress: null });
    await flush();
    expect(model.jobs.map(j => j.id)).toEqual(['new']);
    expect(model.get('new')!.status).toBe('accepted');

    getJob.mockResolvedValueOnce(
      job('new', {
        status: 'failed',
        error: 'Out of memory',
        updated: '2025-01-01T10:02:00.000Z'
      })
    );
    events.send({
      job_id: 'new',
      status: 'failed',
      message: 'Out of memory',
      updated: '2025-01-01T10:02:00.000Z'
    });
    await flush();
    expect(ended).toHaveLength(1);
    expect(ended[0].error).toBe('Out of memory');
  });

  it('does not signal a job that was final when first seen from an event', async () => {
    const events = new FakeEvents();
    listJobs.mockResolvedValue({ jobs: [] });
    const model = create(events);
    await model.refresh();
    const ended = jest.fn();
    model.jobEnded.connect(ended);
    getJob.mockResolvedValueOnce(job('sync', { status: 'successful' }));
    events.send({ job_id: 'sync', status: 'successful' });
    await flush();
    expect(model.get('sync')).toBeDefined();
    expect(ended).not.toHaveBeenCalled();
  });

  it('never moves a job back from a final status', async () => {
    const model = create(null);
    model.upsert(job('j', { status: 'accepted', progress: null }));
    model.upsert(
      job('j', { status: 'dismissed', updated: '2025-01-01T10:00:02.000Z' })
    );
    // The submission's own (older) answer arrives late.
    model.upsert(job('j', { status: 'running' }));
    expect(model.get('j')!.status).toBe('dismissed');
  });

  it('polls unfinished jobs when no event arrives, and stops when all are final', async () => {
    jest.useFakeTimers();
    const events = new FakeEvents();
    listJobs.mockResolvedValue({
      jobs: [job('j1'), job('j2', { status: 'successful' })]
    });
    const model = create(events);
    await model.refresh();
    expect(model.polling).toBe(true);
    getJob.mockImplementation(async id => job(id, { progress: 30 }));

    await jest.advanceTimersByTimeAsync(4000);
    expect(getJob).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1500);
    expect(getJob).toHaveBeenCalledTimes(1);
    expect(getJob).toHaveBeenCalledWith('j1'); // only the unfinished one
    expect(model.get('j1')!.progress).toBe(30);

    // Events keep arriving: no polling.
    getJob.mockClear();
    for (let i = 0; i < 5; i++) {
      await jest.advanceTimersByTimeAsync(3000);
      events.send({
        job_id: 'j1',
        status: 'running',
        progress: 40 + i,
        updated: `2025-01-01T10:00:0${i + 1}.000Z`
      });
    }
    expect(getJob).not.toHaveBeenCalled();
    expect(model.get('j1')!.progress).toBe(44);

    // Quiet again: polling resumes, finds the job finished, then stops.
    const ended = jest.fn();
    model.jobEnded.connect(ended);
    getJob.mockImplementation(async id =>
      job(id, {
        status: 'successful',
        progress: 100,
        updated: '2025-01-01T10:05:00.000Z'
      })
    );
    await jest.advanceTimersByTimeAsync(5000);
    expect(getJob).toHaveBeenCalledTimes(1);
    expect(ended).toHaveBeenCalledTimes(1);
    expect(model.polling).toBe(false);
    getJob.mockClear();
    await jest.advanceTimersByTimeAsync(60000);
    expect(getJob).not.toHaveBeenCalled();
  });

  it('polls without an event manager, and leaves no timer when disposed', async () => {
    jest.useFakeTimers();
    const model = create(null);
    getJob.mockImplementation(async id => job(id));
    model.upsert(job('j1'));
    expect(model.polling).toBe(true);
    await jest.advanceTimersByTimeAsync(5000);
    expect(getJob).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(5000);
    expect(getJob).toHaveBeenCalledTimes(2);
    model.dispose();
    expect(model.polling).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(20000);
    expect(getJob).toHaveBeenCalledTimes(2);
  });

  it('stops listening to events when disposed', async () => {
    const events = new FakeEvents();
    const model = create(events);
    model.upsert(job('j1'));
    model.dispose();
    events.send({ job_id: 'j1', status: 'running', progress: 90 });
    expect(model.jobs[0].progress).toBe(10);
    expect(model.isDisposed).toBe(true);
  });

  it('drops a job the server no longer knows', async () => {
    jest.useFakeTimers();
    const model = create(null);
    model.upsert(job('gone'));
    getJob.mockRejectedValue(new api.EOJLabRequestError('No such job.', 404));
    await jest.advanceTimersByTimeAsync(5000);
    expect(model.jobs).toHaveLength(0);
    expect(model.polling).toBe(false);
  });

  it('dismisses and keeps the error sentence on failure', async () => {
    const model = create(null);
    model.upsert(job('j1'));
    dismissJob.mockResolvedValueOnce(
      job('j1', {
        status: 'dismissed',
        message: 'Dismissed.',
        updated: '2025-01-01T10:00:03.000Z'
      })
    );
    const ended = jest.fn();
    model.jobEnded.connect(ended);
    await model.dismiss('j1');
    expect(model.get('j1')!.status).toBe('dismissed');
    expect(ended).toHaveBeenCalledTimes(1);
    dismissJob.mockRejectedValueOnce(new Error('Nope.'));
    await model.dismiss('j1');
    expect(model.error).toBe('Nope.');
  });

  it('reveal resets a filter that hides the job', () => {
    const model = create(null);
    model.upsert(job('j1', { status: 'failed' }));
    model.filter = 'running';
    const revealed: string[] = [];
    model.revealRequested.connect((_, id) => revealed.push(id));
    model.reveal('j1');
    expect(model.filter).toBe('all');
    expect(revealed).toEqual(['j1']);
  });
});

describe('extents', () => {
  it('reads bbox-ish values', () => {
    expect(parseBBox([1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
    expect(parseBBox({ bbox: [1, 2, 3, 4] })).toEqual([1, 2, 3, 4]);
    expect(parseBBox('{"bbox": [1, 2, 3, 4]}')).toEqual([1, 2, 3, 4]);
    expect(parseBBox('[1, 2, 3, 4]')).toEqual([1, 2, 3, 4]);
    expect(parseBBox([1, 2, 0, 3, 4, 10])).toEqual([1, 2, 3, 4]);
    expect(
      parseBBox({ lowerCorner: '1 2', upperCorner: '3 4', crs: 'EPSG:4326' })
    ).toEqual([1, 2, 3, 4]);
    expect(
      parseBBox({
        LowerCorner: [2, 1],
        UpperCorner: [4, 3],
        crs: 'urn:ogc:def:crs:EPSG::4326'
      })
    ).toEqual([1, 2, 3, 4]);
    expect(parseBBox({ west: 1, south: 2, east: 3, north: 4 })).toEqual([
      1, 2, 3, 4
    ]);
    // Projected, out of range, inverted, not a box.
    expect(parseBBox({ bbox: [1, 2, 3, 4], crs: 'EPSG:32633' })).toBeNull();
    expect(parseBBox([500000, 2, 600000, 4])).toBeNull();
    expect(parseBBox([3, 2, 1, 4])).toBeNull();
    expect(parseBBox('hello')).toBeNull();
    expect(parseBBox(null)).toBeNull();
  });

  it('takes the extent from a result first, then a bbox input', () => {
    const withResult = job('a', {
      inputs: { area: { bbox: [10, 20, 30, 40] } },
      results: [
        { id: 'image', href: 'x', mime_type: 'image/png' },
        { id: 'extent', value: [1, 2, 3, 4] }
      ]
    });
    expect(jobExtent(withResult)).toEqual([1, 2, 3, 4]);
    const fromInput = job('b', {
      inputs: { size: 3, area: { bbox: [10, 20, 30, 40], crs: 'CRS84' } },
      results: [{ id: 'image', href: 'x', mime_type: 'image/png' }]
    });
    expect(jobExtent(fromInput)).toEqual([10, 20, 30, 40]);
    expect(previewKind(fromInput, fromInput.results[0])).toBe('image');
    const none = job('c', {
      results: [{ id: 'image', href: 'x', mime_type: 'image/png' }]
    });
    expect(jobExtent(none)).toBeNull();
    expect(previewKind(none, none.results[0])).toBe('no-extent');
  });

  it('recognises GeoJSON results', () => {
    const j = job('g');
    expect(
      previewKind(j, {
        id: 'r',
        value: { type: 'Point', coordinates: [1, 2] }
      })
    ).toBe('geojson');
    expect(
      previewKind(j, {
        id: 'r',
        value: '{"type": "FeatureCollection", "features": []}',
        mime_type: 'application/geo+json'
      })
    ).toBe('geojson');
    expect(previewKind(j, { id: 'r', value: 12 })).toBeNull();
    expect(
      previewKind(j, {
        id: 'r',
        href: 'http://x/a',
        mime_type: 'application/json'
      })
    ).toBe('fetch-geojson');
    expect(previewKind(j, { id: 'r', href: 'http://x/a.geojson' })).toBe(
      'fetch-geojson'
    );
    expect(
      previewKind(j, {
        id: 'r',
        href: 'http://x/a.tif',
        mime_type: 'image/tiff'
      })
    ).toBeNull();
  });
});

class FakeMap implements IEOMap {
  layers = new Map<string, unknown>();
  reveal = jest.fn();
  drawBox = jest.fn(async () => null);
  showBox = jest.fn();
  showGeoJSON = jest.fn((key: string, data: unknown) => {
    this.layers.set(key, data);
  });
  showImage = jest.fn((key: string, url: string) => {
    this.layers.set(key, url);
  });
  clearOverlays = jest.fn((key?: string) => {
    if (key === undefined) {
      this.layers.clear();
    } else {
      this.layers.delete(key);
    }
  });
  get overlays(): string[] {
    return [...this.layers.keys()];
  }
}

describe('JobPreviews', () => {
  let created: string[];
  let revoked: string[];
  beforeEach(() => {
    created = [];
    revoked = [];
    (URL as any).createObjectURL = jest.fn(() => {
      const url = `blob:${created.length}`;
      created.push(url);
      return url;
    });
    (URL as any).revokeObjectURL = jest.fn((url: string) => revoked.push(url));
  });

  const imageJob = job('img', {
    status: 'successful',
    inputs: { aoi: { bbox: [5, 45, 6, 46] } },
    results: [
      { id: 'map', href: 'http://svc/map.png', mime_type: 'image/png' },
      {
        id: 'outline',
        value: { type: 'Feature', geometry: null, properties: {} }
      },
      { id: 'count', value: 3 }
    ]
  });

  it('shows GeoJSON and images, and revokes object URLs when hidden', async () => {
    const map = new FakeMap();
    const previews = new JobPreviews(map);
    fetchJobResult.mockResolvedValue({
      blob: async () => new Blob(['png'])
    } as any);
    await previews.show(imageJob);
    expect(fetchJobResult).toHaveBeenCalledWith('img', 'map');
    expect(map.showImage).toHaveBeenCalledWith(
      'job:img:map',
      'blob:0',
      [5, 45, 6, 46],
      true
    );
    expect(map.showGeoJSON).toHaveBeenCalledWith(
      'job:img:outline',
      imageJob.results[1].value,
      false
    );
    expect(previews.isShown('img')).toBe(true);
    previews.hide('img');
    expect(map.overlays).toEqual([]);
    expect(revoked).toEqual(['blob:0']);
    expect(previews.isShown('img')).toBe(false);
  });

  it('revokes URLs of overlays cleared by someone else, and on model dispose', async () => {
    const map = new FakeMap();
    const model = new JobsModel();
    const previews = new JobPreviews(map, model);
    fetchJobResult.mockResolvedValue({
      blob: async () => new Blob(['png'])
    } as any);
    await previews.show(imageJob);
    map.clearOverlays();
    expect(previews.isShown('img')).toBe(false);
    expect(revoked).toEqual(['blob:0']);
    await previews.show(imageJob);
    model.dispose();
    expect(previews.isDisposed).toBe(true);
    expect(revoked).toEqual(['blob:0', 'blob:1']);
    expect(map.overlays).toEqual([]);
  });

  it('explains what it cannot show', async () => {
    const map = new FakeMap();
    const previews = new JobPreviews(map);
    fetchJobResult.mockResolvedValueOnce({
      text: async () => '{"not": "geojson"}'
    } as any);
    fetchJobResult.mockRejectedValueOnce(
      new api.EOJLabRequestError('The result is gone.', 404)
    );
    const j = job('p', {
      status: 'successful',
      results: [
        { id: 'doc', href: 'http://svc/doc', mime_type: 'application/json' },
        { id: 'shape', href: 'http://svc/s.geojson' },
        { id: 'pic', href: 'http://svc/p.png', mime_type: 'image/png' }
      ]
    });
    await previews.show(j);
    expect(previews.preview('p')!.problems).toEqual({
      doc: { kind: 'not-geojson' },
      shape: { kind: 'error', message: 'The result is gone.' },
      pic: { kind: 'no-extent' }
    });
    expect(map.showImage).not.toHaveBeenCalled();
  });
});

describe('notifyJobEnded', () => {
  it('notifies by status with a Show action', () => {
    const success = Notification.success as jest.Mock;
    const error = Notification.error as jest.Mock;
    const onShow = jest.fn();
    notifyJobEnded(
      job('j1', { status: 'successful', message: 'All good' }),
      trans,
      onShow
    );
    const [message, options] = success.mock.calls[0];
    expect(message).toContain('ndvi');
    expect(message).toContain('Successful');
    expect(message).toContain('All good');
    expect(options!.autoClose).toBeGreaterThan(0);
    options!.actions![0].callback(new MouseEvent('click'));
    expect(onShow).toHaveBeenCalledWith('j1');

    notifyJobEnded(
      job('j2', { status: 'failed', message: 'x', error: 'Out of memory' }),
      trans
    );
    expect(error.mock.calls[0][0]).toContain('Out of memory');
    expect(error.mock.calls[0][1]!.autoClose).toBe(false);
  });
});

/* ---- The panel ---- */

// Tell React this environment runs act().
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
const act: (callback: () => void | Promise<void>) => Promise<void> = (
  React as any
).act;

const HOSTILE = '<img src=x onerror="window.pwned=1">';

const roots: Root[] = [];

afterEach(async () => {
  for (const root of roots.splice(0)) {
    await act(() => root.unmount());
  }
  document.body.innerHTML = '';
});

interface ISetup {
  host: HTMLElement;
  model: JobsModel;
  map: FakeMap;
  previews: JobPreviews;
  onExchange: jest.Mock;
  onCopyCode: jest.Mock;
  rerender: () => Promise<void>;
}

async function setup(jobs: IJob[]): Promise<ISetup> {
  const model = new JobsModel();
  models.push(model);
  jobs.forEach(j => model.upsert(j));
  const map = new FakeMap();
  const previews = new JobPreviews(map, model);
  const onExchange = jest.fn();
  const onCopyCode = jest.fn(async () => undefined);
  const host = document.createElement('div');
  document.body.appendChild(host);
  const root = createRoot(host);
  roots.push(root);
  const rerender = () =>
    act(() =>
      root.render(
        <JobsPanel
          model={model}
          previews={previews}
          trans={trans}
          onExchange={onExchange}
          onCopyCode={onCopyCode}
        />
      )
    );
  model.changed.connect(() => void rerender());
  previews.changed.connect(() => void rerender());
  await rerender();
  return { host, model, map, previews, onExchange, onCopyCode, rerender };
}

/** Let promises (and the renders they cause) settle. */
function settle(): Promise<void> {
  return act(() => new Promise<void>(resolve => setTimeout(resolve, 0)));
}

function row(host: HTMLElement, id: string): HTMLElement {
  return host.querySelector(`[data-job-id="${id}"]`)!;
}

async function click(element: Element | null): Promise<void> {
  expect(element).not.toBeNull();
  await act(async () => {
    (element as HTMLElement).click();
    await new Promise<void>(resolve => setTimeout(resolve, 0));
  });
}

describe('JobsPanel', () => {
  it('says there are no jobs yet', async () => {
    const { host } = await setup([]);
    expect(host.textContent).toContain('No jobs yet.');
    expect(host.querySelectorAll('[data-job-id]')).toHaveLength(0);
  });

  it('lists jobs with status, progress and service texts as text', async () => {
    const { host } = await setup([
      job('run', { message: HOSTILE, progress: 42 }),
      job('acc', {
        status: 'accepted',
        progress: null,
        created: '2025-01-01T09:00:00.000Z'
      }),
      job('bad', {
        status: 'failed',
        message: 'Failed',
        error: `Boom ${HOSTILE}`,
        created: '2025-01-01T08:00:00.000Z',
        finished: '2025-01-01T08:01:05.000Z'
      })
    ]);
    expect(host.querySelector('ul')!.getAttribute('aria-label')).toBe('Jobs');
    const rows = host.querySelectorAll('li[data-job-id]');
    expect(Array.from(rows).map(r => r.getAttribute('data-status'))).toEqual([
      'running',
      'accepted',
      'failed'
    ]);
    const running = row(host, 'run');
    expect(running.querySelector('progress')!.getAttribute('value')).toBe('42');
    const message = running.querySelector('.jp-EOJLab-jobMessage')!;
    expect(message.textContent).toBe(HOSTILE);
    expect(message.getAttribute('aria-live')).toBe('polite');
    expect(host.querySelector('img')).toBeNull();
    expect((window as any).pwned).toBeUndefined();
    // Unknown progress of an unfinished job: an indeterminate bar.
    expect(
      row(host, 'acc').querySelector('progress')!.hasAttribute('value')
    ).toBe(false);
    // A failed job: no bar, its error as text, how long it took.
    const failed = row(host, 'bad');
    expect(failed.querySelector('progress')).toBeNull();
    expect(failed.querySelector('.jp-EOJLab-jobError')!.textContent).toBe(
      `Boom ${HOSTILE}`
    );
    expect(failed.querySelector('.jp-EOJLab-jobElapsed')!.textContent).toBe(
      '1 min 05 s'
    );
    expect(
      failed.querySelector('.jp-EOJLab-jobStatus-failed')!.textContent
    ).toBe('Failed');
    // Dismiss only for unfinished jobs.
    expect(running.querySelector('.jp-EOJLab-jobDismiss')).not.toBeNull();
    expect(failed.querySelector('.jp-EOJLab-jobDismiss')).toBeNull();
  });

  it('filters by status with counts', async () => {
    const { host, model } = await setup([
      job('a'),
      job('b', { status: 'successful' }),
      job('c', { status: 'successful' })
    ]);
    const select = host.querySelector<HTMLSelectElement>(
      '.jp-EOJLab-jobFilter'
    )!;
    const labels = Array.from(select.options).map(o => o.textContent);
    expect(labels).toContain('All (3)');
    expect(labels).toContain('Unfinished (1)');
    expect(labels).toContain('Successful (2)');
    await act(() => {
      model.filter = 'successful';
    });
    expect(
      Array.from(host.querySelectorAll('[data-job-id]')).map(r =>
        r.getAttribute('data-job-id')
      )
    ).toEqual(['b', 'c']);
    await act(() => {
      model.filter = 'dismissed';
    });
    expect(host.textContent).toContain('No job has this status.');
  });

  it('dismisses an unfinished job', async () => {
    dismissJob.mockResolvedValueOnce(
      job('a', {
        status: 'dismissed',
        message: 'Dismissed.',
        updated: '2025-01-01T10:00:01.000Z'
      })
    );
    const { host } = await setup([job('a')]);
    await click(row(host, 'a').querySelector('.jp-EOJLab-jobDismiss'));
    await settle();
    expect(dismissJob).toHaveBeenCalledWith('a');
    expect(row(host, 'a').getAttribute('data-status')).toBe('dismissed');
    expect(row(host, 'a').querySelector('.jp-EOJLab-jobDismiss')).toBeNull();
  });

  it('shows details, links results and previews GeoJSON on the map', async () => {
    const feature = {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [1, 2] },
      properties: {}
    };
    const { host, map, onExchange, onCopyCode } = await setup([
      job('ok', {
        status: 'successful',
        inputs: { n: 3, name: HOSTILE },
        results: [
          { id: 'shape', value: feature },
          { id: 'pic', href: 'http://svc/p.png', mime_type: 'image/png' }
        ]
      })
    ]);
    const ok = row(host, 'ok');
    const details = ok.querySelector('.jp-EOJLab-jobDetails')!;
    expect(details.getAttribute('aria-expanded')).toBe('false');
    await click(details);
    expect(details.getAttribute('aria-expanded')).toBe('true');
    expect(ok.querySelector('.jp-EOJLab-jobInputs')!.textContent).toBe(
      JSON.stringify({ n: 3, name: HOSTILE })
    );
    const results = ok.querySelectorAll('[data-result-id]');
    expect(results).toHaveLength(2);
    const link = results[1].querySelector('a')!;
    expect(link.getAttribute('href')).toContain('/eo-jlab/jobs/ok/results/pic');
    expect(link.getAttribute('rel')).toContain('noopener');
    expect(results[1].textContent).toContain('no extent is known');

    const preview = ok.querySelector('.jp-EOJLab-jobPreview')!;
    expect(preview.textContent).toBe('Show on map');
    await click(preview);
    await settle();
    expect(map.showGeoJSON).toHaveBeenCalledWith('job:ok:shape', feature, true);
    expect(preview.getAttribute('aria-pressed')).toBe('true');
    expect(preview.textContent).toBe('Hide from map');
    await click(preview);
    expect(map.overlays).toEqual([]);
    expect(preview.textContent).toBe('Show on map');

    await click(ok.querySelector('.jp-EOJLab-jobExchange'));
    expect(onExchange).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'ok' })
    );
    await click(ok.querySelector('.jp-EOJLab-jobCopy'));
    await settle();
    expect(onCopyCode).toHaveBeenCalledTimes(1);
    expect(ok.querySelector('.jp-EOJLab-jobCopy')!.textContent).toBe('Copied');
  });

  it('opens the details of a revealed job', async () => {
    const model = new JobsModel();
    models.push(model);
    model.upsert(job('x', { status: 'failed' }));
    const map = new FakeMap();
    const host = document.createElement('div');
    document.body.appendChild(host);
    const root = createRoot(host);
    roots.push(root);
    const props = {
      model,
      previews: new JobPreviews(map, model),
      trans,
      onExchange: jest.fn(),
      onCopyCode: jest.fn(async () => undefined)
    };
    await act(() => root.render(<JobsPanel {...props} />));
    expect(host.querySelector('.jp-EOJLab-jobDetailsBody')).toBeNull();
    await act(() =>
      root.render(<JobsPanel {...props} reveal={{ id: 'x', nonce: 1 }} />)
    );
    expect(host.querySelector('.jp-EOJLab-jobDetailsBody')).not.toBeNull();
    expect(document.activeElement?.classList).toContain('jp-EOJLab-jobDetails');
  });
});

describe('ExchangeView', () => {
  it('shows each request and response, pretty-printed, as text', async () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    const root = createRoot(host);
    roots.push(root);
    const load = async () => [
      {
        method: 'POST',
        url: 'https://svc/processes/ndvi/execution',
        request_body: '{"inputs":{"a":1}}',
        status: 201,
        response_body: `<a><b x="1">${HOSTILE.replace(/</g, '&lt;')}</b></a>`
      },
      {
        method: 'GET',
        url: 'https://svc/jobs/1',
        request_body: null,
        status: null,
        response_body: 'plain text'
      }
    ];
    await act(async () => {
      root.render(<ExchangeView load={load} trans={trans} />);
      await new Promise<void>(resolve => setTimeout(resolve, 0));
    });
    await settle();
    const entries = host.querySelectorAll('.jp-EOJLab-jobExchangeEntry');
    expect(entries).toHaveLength(2);
    expect(entries[0].textContent).toContain('POST');
    expect(entries[0].textContent).toContain('HTTP 201');
    const bodies = entries[0].querySelectorAll('pre');
    expect(bodies[0].textContent).toBe('{\n  "inputs": {\n    "a": 1\n  }\n}');
    expect(bodies[1].textContent).toContain('<a>\n  <b x="1">');
    expect(host.querySelector('img')).toBeNull();
    expect(entries[1].textContent).toContain('no answer');
    expect(entries[1].querySelectorAll('pre')).toHaveLength(1);
  });

  it('shows the error sentence', async () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    const root = createRoot(host);
    roots.push(root);
    const load = async () => {
      throw new Error('No such job.');
    };
    await act(async () => {
      root.render(<ExchangeView load={load} trans={trans} />);
      await new Promise<void>(resolve => setTimeout(resolve, 0));
    });
    await settle();
    expect(host.querySelector('[role="alert"]')!.textContent).toBe(
      'No such job.'
    );
  });
});

describe('formatting', () => {
  it('formats durations and bodies', () => {
    expect(formatDuration(4200, trans)).toBe('4 s');
    expect(formatDuration(65000, trans)).toBe('1 min 05 s');
    expect(formatDuration(2 * 3600000 + 7 * 60000, trans)).toBe('2 h 07 min');
    expect(prettyBody('not json {')).toBe('not json {');
    expect(prettyBody('<a><b/></a>')).toBe('<a>\n  <b/>\n</a>');
    expect(prettyBody('<a><b>')).toBe('<a><b>');
    expect(prettyBody(null)).toBe('');
  });
});
