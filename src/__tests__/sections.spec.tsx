import * as React from 'react';
import { createRoot } from 'react-dom/client';

import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import {
  ProcessesSection,
  SearchSection,
  SharedSection
} from '../components/Sections';
import { EndpointHealth, IEOJLabConfig, IEOJLabModel } from '../tokens';

const trans = nullTranslator.load('eo_jlab');

// Tell React this environment runs act().
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
const act: (callback: () => void) => void = (React as any).act;

function stubModel(
  config: IEOJLabConfig | null,
  health: Record<string, EndpointHealth> = {},
  error: string | null = null
): IEOJLabModel {
  const model: any = {
    config,
    error,
    loading: false,
    health: (id: string) => health[id] ?? { state: 'unknown' },
    refresh: async () => undefined,
    probeAll: async () => undefined
  };
  model.changed = new Signal<IEOJLabModel, void>(model);
  return model;
}

function render(element: JSX.Element): HTMLElement {
  const host = document.createElement('div');
  document.body.appendChild(host);
  act(() => createRoot(host).render(element));
  return host;
}

const HOSTILE = '<img src=x onerror="window.pwned=1">';

const CONFIG: IEOJLabConfig = {
  user: { name: 'alice' },
  catalogues: [
    { id: 'cdse', title: HOSTILE, protocol: 'stac', url: 'https://cdse/stac' }
  ],
  processing: [],
  sharing: { enabled: true, mode: 'hub' }
};

describe('sections', () => {
  it('lists catalogues with their health, texts as text', () => {
    const host = render(
      <SearchSection
        model={stubModel(CONFIG, {
          cdse: { state: 'error', message: `No: ${HOSTILE}`, status: 502 }
        })}
        trans={trans}
      />
    );
    const row = host.querySelector('[data-endpoint-id="cdse"]')!;
    expect(row.getAttribute('data-health')).toBe('error');
    expect(row.textContent).toContain(HOSTILE);
    expect(row.textContent).toContain('STAC'.toLowerCase());
    expect(host.querySelector('img')).toBeNull();
    expect((window as any).pwned).toBeUndefined();
    expect(row.querySelector('.jp-EOJLab-endpoint-error')!.textContent).toBe(
      `No: ${HOSTILE}`
    );
  });

  it("shows an answering endpoint's detail sentence as text", () => {
    const detail = `Indexed partially: ${HOSTILE}`;
    const host = render(
      <SearchSection
        model={stubModel(CONFIG, {
          cdse: { state: 'ok', title: 'Huge', elapsedMs: 3, detail }
        })}
        trans={trans}
      />
    );
    const row = host.querySelector('[data-endpoint-id="cdse"]')!;
    expect(row.getAttribute('data-health')).toBe('ok');
    expect(row.querySelector('.jp-EOJLab-endpoint-note')!.textContent).toBe(
      detail
    );
    expect(host.querySelector('img')).toBeNull();
  });

  it('says how to configure when nothing is configured', () => {
    const host = render(
      <ProcessesSection model={stubModel(CONFIG)} trans={trans} />
    );
    expect(host.textContent).toContain('No processing service is configured');
    expect(host.textContent).toContain('c.EOJLab.processing');
  });

  it('shows the configuration error instead of the lists', () => {
    const host = render(
      <SearchSection
        model={stubModel(
          null,
          {},
          'The eo_jlab server extension is not running'
        )}
        trans={trans}
      />
    );
    expect(host.querySelector('[role="alert"]')!.textContent).toBe(
      'The eo_jlab server extension is not running'
    );
  });

  it('reports the sharing mode', () => {
    const host = render(
      <SharedSection model={stubModel(CONFIG)} trans={trans} />
    );
    expect(
      host.querySelector('[data-sharing]')!.getAttribute('data-sharing')
    ).toBe('hub');
    const off = render(
      <SharedSection
        model={stubModel({
          ...CONFIG,
          sharing: { enabled: false, mode: 'local' }
        })}
        trans={trans}
      />
    );
    expect(off.textContent).toContain('Sharing is off');
  });
});
