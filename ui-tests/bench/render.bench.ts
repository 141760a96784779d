/**
 * Browser benchmark (run by bench/browser.py, not part of `make test`): 5,000 search results
 * with footprints (list + map), then the frame time while the map pans over them.
 *
 * Everything is timed in the page (performance.now(), requestAnimationFrame, Resource
 * Timing), and the figures are written as JSON to EO_JLAB_BENCH_OUT.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';

const SIDEBAR = 'jp-EOJLab-sidebar';
const PAGE_SIZE = 500;
const PAGES = Number(process.env.EO_JLAB_BENCH_PAGES || '10');
const ROUNDS = Number(process.env.EO_JLAB_BENCH_ROUNDS || '2');
const OUT = process.env.EO_JLAB_BENCH_OUT || 'bench-results.json';

test.use({ viewport: { width: 1400, height: 1000 } });

/** Runs in the page: helpers on window.__eoBench (the search section, its model and map). */
function install(): void {
  const app = (window as any).jupyterapp;
  const sidebar = Array.from(app.shell.widgets('left') as Iterable<any>).find(
    (w: any) => w.id === 'jp-EOJLab-sidebar'
  ) as any;
  const section = sidebar.widgets.find(
    (w: any) => w.id === 'jp-EOJLab-section-search'
  );
  const longTasks: { start: number; duration: number }[] = [];
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      longTasks.push({ start: entry.startTime, duration: entry.duration });
    }
  }).observe({ type: 'longtask', buffered: true });
  performance.setResourceTimingBufferSize(100000);
  (window as any).__eoBench = {
    map: section.map.olMap,
    // The model is not exposed: the map holds it (benchmark only).
    model: section.map._model,
    longTasks
  };
}

/** Runs in the page: a fresh search then `pages - 1` Load more, back to back. */
async function loadPages(args: {
  pages: number;
  pageSize: number;
}): Promise<any> {
  const bench = (window as any).__eoBench;
  const { map, model } = bench;
  model.pageSize = args.pageSize;
  const root = document.getElementById('jp-EOJLab-sidebar')!;
  const footprints = map.getLayers().getArray()[2].getSource();
  const frame = () => new Promise<number>(r => requestAnimationFrame(r));

  /** Click, then wait for the count, the list rows and the footprints, and their frame. */
  const step = (button: HTMLButtonElement, expected: number): Promise<any> =>
    new Promise(resolve => {
      performance.clearResourceTimings();
      const clicked = performance.now();
      button.click();
      const check = () => {
        const count = root.querySelector('.jp-EOJLab-count')?.textContent ?? '';
        const rows = root.querySelectorAll('.jp-EOJLab-result').length;
        const list = root.querySelector(
          '.jp-EOJLab-results > div'
        ) as HTMLElement | null;
        const listReady =
          count.startsWith(`${expected} of`) &&
          rows > 0 &&
          list?.style.height === `${expected * 58}px`;
        if (!listReady || footprints.getFeatures().length !== expected) {
          requestAnimationFrame(check);
          return;
        }
        const listAt = performance.now();
        // The map draws the new footprints in its own animation frame callback.
        map.once('postrender', () => {
          const mapAt = performance.now();
          // The next frame starts once the drawn one has been presented.
          requestAnimationFrame(() => {
            const shownAt = performance.now();
            const response = performance
              .getEntriesByType('resource')
              .filter(e => e.name.includes('/catalogues/bench/search'))
              .pop() as PerformanceResourceTiming | undefined;
            const responseEnd = response?.responseEnd ?? NaN;
            const others = performance
              .getEntriesByType('resource')
              .filter(e => !e.name.includes('/catalogues/bench/search'))
              .map(e => {
                const r = e as PerformanceResourceTiming;
                return `${r.name.split('?')[0]} ${(r.startTime - clicked).toFixed(0)}..${(r.responseEnd - clicked).toFixed(0)}`;
              });
            const longest = Math.max(
              0,
              ...bench.longTasks
                .filter((t: any) => t.start >= clicked)
                .map((t: any) => t.duration)
            );
            resolve({
              count: expected,
              click_to_shown_ms: shownAt - clicked,
              response_ms: responseEnd - clicked,
              request_start_ms: (response?.startTime ?? NaN) - clicked,
              response_start_ms: (response?.responseStart ?? NaN) - clicked,
              other_requests: others,
              response_to_list_ms: listAt - responseEnd,
              response_to_map_drawn_ms: mapAt - responseEnd,
              response_to_shown_ms: shownAt - responseEnd,
              response_bytes: response?.encodedBodySize ?? null,
              longest_task_ms: longest
            });
          });
        });
        map.render();
      };
      requestAnimationFrame(check);
    });

  await frame();
  const started = performance.now();
  const steps = [];
  const submit = root.querySelector(
    'form.jp-EOJLab-form button[type="submit"]'
  ) as HTMLButtonElement;
  steps.push(await step(submit, args.pageSize));
  for (let page = 2; page <= args.pages; page++) {
    const more = root.querySelector('.jp-EOJLab-more') as HTMLButtonElement;
    steps.push(await step(more, page * args.pageSize));
  }
  const total = performance.now() - started;
  return {
    steps,
    total_ms: total,
    sum_response_to_shown_ms: steps.reduce(
      (s: number, x: any) => s + x.response_to_shown_ms,
      0
    ),
    heap_mb: (performance as any).memory
      ? (performance as any).memory.usedJSHeapSize / 1048576
      : null
  };
}

/** Runs in the page: the shown results again as a new array, so list and map redo all. */
async function rerenderAll(): Promise<any> {
  const bench = (window as any).__eoBench;
  const { map, model } = bench;
  const root = document.getElementById('jp-EOJLab-sidebar')!;
  const footprints = map.getLayers().getArray()[2].getSource();
  await new Promise(r => requestAnimationFrame(r));
  return new Promise(resolve => {
    const started = performance.now();
    // Private fields (benchmark only): same items, new array = "not an append".
    model._results = model._results.slice();
    model._changed.emit();
    const added = performance.now();
    const count = footprints.getFeatures().length;
    map.once('postrender', () => {
      const drawn = performance.now();
      requestAnimationFrame(() =>
        resolve({
          count,
          rows_in_dom: root.querySelectorAll('.jp-EOJLab-result').length,
          update_ms: added - started,
          map_drawn_ms: drawn - started,
          shown_ms: performance.now() - started
        })
      );
    });
    map.render();
  });
}

/**
 * Runs in the page: every footprint in view, then the view pans for `duration` ms (with the
 * footprints layer hidden when `hidden`: the baseline of the same map).
 */
async function pan(args: { duration: number; hidden: boolean }): Promise<any> {
  const { duration, hidden } = args;
  const { map } = (window as any).__eoBench;
  const view = map.getView();
  const layer = map.getLayers().getArray()[2];
  const footprints = layer.getSource();
  layer.setVisible(!hidden);
  view.cancelAnimations();
  view.fit(footprints.getExtent(), { padding: [10, 10, 10, 10], duration: 0 });
  await new Promise(r => map.once('rendercomplete', r));
  const start = view.getCenter();
  const size = map.getSize();
  const dx = size[0] * view.getResolution();
  const renders: number[] = [];
  let composing = 0;
  const pre = () => (composing = performance.now());
  const post = () => renders.push(performance.now() - composing);
  map.on('precompose', pre);
  map.on('postcompose', post);
  const deltas: number[] = [];
  let done = false;
  let last = await new Promise<number>(r => requestAnimationFrame(r));
  const tick = (now: number) => {
    deltas.push(now - last);
    last = now;
    if (!done) {
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
  // One map width east in half the time, then back.
  await new Promise<void>(resolve =>
    view.animate(
      { center: [start[0] + dx, start[1]], duration: duration / 2 },
      { center: start, duration: duration / 2 },
      () => resolve()
    )
  );
  done = true;
  layer.setVisible(true);
  map.un('precompose', pre);
  map.un('postcompose', post);
  const q = (values: number[], p: number) => {
    const s = [...values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))];
  };
  return {
    footprints: hidden ? 0 : footprints.getFeatures().length,
    map_size_px: size,
    zoom: view.getZoom(),
    frames: deltas.length,
    frame_p50_ms: q(deltas, 50),
    frame_p95_ms: q(deltas, 95),
    frame_max_ms: Math.max(...deltas),
    frames_over_20ms: deltas.filter(d => d > 20).length,
    map_renders: renders.length,
    render_p50_ms: q(renders, 50),
    render_p95_ms: q(renders, 95),
    render_max_ms: Math.max(...renders)
  };
}

test('5,000 results with footprints, then panning', async ({
  page,
  browserName
}) => {
  await page.sidebar.openTab(SIDEBAR);
  await page.sidebar.setWidth(420);
  const panel = page.locator(`#${SIDEBAR}`);
  await panel.getByLabel('Catalogue', { exact: true }).selectOption('bench');
  const submit = panel.getByRole('button', { name: 'Search', exact: true });
  await expect(submit).toBeEnabled();
  await page.evaluate(install);

  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push(
      await page.evaluate(loadPages, { pages: PAGES, pageSize: PAGE_SIZE })
    );
  }
  const last = rounds[rounds.length - 1];
  expect(last.steps.length).toBe(PAGES);
  expect(last.steps[PAGES - 1].count).toBe(PAGES * PAGE_SIZE);
  const rerender = await page.evaluate(rerenderAll);
  // Warm-up: the same pan once, so the basemap tiles on its path are loaded and cached.
  await page.evaluate(pan, { duration: 2000, hidden: true });
  const panning = await page.evaluate(pan, { duration: 2000, hidden: false });
  expect(panning.footprints).toBe(PAGES * PAGE_SIZE);
  const baseline = await page.evaluate(pan, { duration: 2000, hidden: true });

  const browser = page.context().browser();
  fs.writeFileSync(
    OUT,
    JSON.stringify(
      {
        browser: `${browserName} ${browser?.version() ?? ''}`,
        viewport: page.viewportSize(),
        page_size: PAGE_SIZE,
        pages: PAGES,
        rounds,
        rerender,
        panning,
        panning_without_footprints: baseline
      },
      null,
      1
    )
  );
});
