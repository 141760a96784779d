/**
 * The search map: OpenLayers bundled as ES modules (no global, so it lives beside ipyleaflet),
 * a bundled coarse world outline that works offline, an optional tile basemap, drawing of
 * the area of interest, and the results' footprints highlighted in step with the list.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import OlMap from 'ol/Map';
import View from 'ol/View';
import Feature from 'ol/Feature';
import GeoJSON from 'ol/format/GeoJSON';
import Draw from 'ol/interaction/Draw';
import DragBox from 'ol/interaction/DragBox';
import { fromExtent } from 'ol/geom/Polygon';
import BaseLayer from 'ol/layer/Base';
import ImageLayer from 'ol/layer/Image';
import TileLayer from 'ol/layer/Tile';
import VectorLayer from 'ol/layer/Vector';
import { transformExtent } from 'ol/proj';
import ImageStatic from 'ol/source/ImageStatic';
import VectorSource from 'ol/source/Vector';
import XYZ from 'ol/source/XYZ';
import { Fill, Stroke, Style } from 'ol/style';
import { feature as topoFeature } from 'topojson-client';
import land from 'world-atlas/land-110m.json';

import { SearchModel } from '../models/search';
import { IEOMap, IItem } from '../tokens';

type BBox = [number, number, number, number];

const FORMAT = new GeoJSON({
  dataProjection: 'EPSG:4326',
  featureProjection: 'EPSG:3857'
});

/** A theme colour variable resolved to rgb(...) (variables may refer to other variables). */
function cssVar(name: string, fallback: string): string {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  probe.style.color = `var(${name}, ${fallback})`;
  document.body.appendChild(probe);
  const value = getComputedStyle(probe).color;
  probe.remove();
  return value || fallback;
}

export class SearchMap extends Widget implements IEOMap {
  constructor(model: SearchModel, basemapUrl: string, label: string) {
    super();
    this.addClass('jp-EOJLab-map');
    this.node.setAttribute('aria-label', label);
    this._model = model;

    const outline = new VectorSource({
      features: FORMAT.readFeatures(
        topoFeature(land as any, (land as any).objects.land)
      )
    });
    this._outline = new VectorLayer({ source: outline });
    // Its own canvas (className): sharing one with the vector layers hid the footprints.
    this._tiles = new TileLayer({
      visible: false,
      className: 'jp-EOJLab-basemap'
    });
    this.setBasemap(basemapUrl);
    this._footprints = new VectorLayer({
      source: new VectorSource(),
      style: feature => this._footprintStyle(feature as Feature)
    });
    this._aoi = new VectorLayer({ source: new VectorSource() });
    this._box = new VectorLayer({ source: new VectorSource() });
    this._map = new OlMap({
      layers: [
        this._tiles,
        this._outline,
        this._footprints,
        this._aoi,
        this._box
      ],
      view: new View({ center: [1500000, 5500000], zoom: 2, maxZoom: 16 }),
      controls: []
    });
    this._map.on('pointermove', event => {
      const hit = this._map.forEachFeatureAtPixel(
        event.pixel,
        f => f as Feature,
        { layerFilter: layer => layer === this._footprints }
      );
      this._model.hover((hit?.getId() as string) ?? null);
    });
    this._map.on('click', event => {
      if (this._draw) {
        return;
      }
      const hit = this._map.forEachFeatureAtPixel(
        event.pixel,
        f => f as Feature,
        { layerFilter: layer => layer === this._footprints }
      );
      if (hit) {
        this._model.select(hit.getId() as string);
      }
    });
    this._restyle();
    // The theme's colours are resolved into the styles: take the new ones as soon as the
    // theme switches (JupyterLab sets these attributes once the theme's CSS is loaded).
    this._themeWatch = new MutationObserver(() => {
      this._restyle();
      this._footprints.changed();
      this._map.render();
    });
    this._themeWatch.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
    model.changed.connect(this._onModelChanged, this);
    model.highlightChanged.connect(this._onHighlight, this);
  }

  /** Show a tile basemap under the outline ('' = outline only). */
  setBasemap(url: string): void {
    if (url) {
      this._tiles.setSource(
        new XYZ({ url, crossOrigin: 'anonymous', maxZoom: 19 })
      );
      this._tiles.setVisible(true);
    } else {
      this._tiles.setVisible(false);
    }
  }

  /** Unfold the section that holds the map (set by the sidebar). */
  reveal(): void {
    this.onReveal?.();
  }

  onReveal: (() => void) | null = null;

  /** Let the user drag a box for a process input; resolves with it, or null if cancelled. */
  drawBox(): Promise<BBox | null> {
    this._stopDrawing();
    this.reveal();
    return new Promise(resolve => {
      const dragBox = new DragBox({ condition: () => true });
      this._pendingBox = resolve;
      dragBox.on('boxend', () => {
        const [w, s, e, n] = transformExtent(
          dragBox.getGeometry().getExtent(),
          'EPSG:3857',
          'EPSG:4326'
        );
        const bbox: BBox = [clampLon(w), clampLat(s), clampLon(e), clampLat(n)];
        this._pendingBox = null;
        this.showBox(bbox);
        setTimeout(() => this._stopDrawing());
        resolve(bbox);
      });
      this._draw = dragBox;
      this._map.addInteraction(dragBox);
      this.node.classList.add('jp-mod-drawing');
      const onKey = (event: KeyboardEvent) => {
        if (event.key === 'Escape') {
          this._stopDrawing();
        }
      };
      document.addEventListener('keydown', onKey);
      this._stopKeys = () => document.removeEventListener('keydown', onKey);
    });
  }

  showBox(bbox: BBox | null): void {
    const source = this._box.getSource()!;
    source.clear();
    if (bbox) {
      source.addFeature(
        new Feature(fromExtent(transformExtent(bbox, 'EPSG:4326', 'EPSG:3857')))
      );
    }
  }

  showGeoJSON(key: string, data: unknown, fit = true): void {
    this.clearOverlays(key);
    const source = new VectorSource({
      features: FORMAT.readFeatures(data as any)
    });
    const layer = new VectorLayer({ source, style: this._overlayStyle });
    this._addOverlay(key, layer);
    const extent = source.getExtent();
    if (fit && source.getFeatures().length && extent) {
      this.reveal();
      this._map.getView().fit(extent, {
        padding: [20, 20, 20, 20],
        maxZoom: 12,
        duration: 200
      });
    }
  }

  showImage(key: string, url: string, extent: BBox, fit = true): void {
    this.clearOverlays(key);
    const layer = new ImageLayer({
      source: new ImageStatic({
        url,
        imageExtent: extent,
        projection: 'EPSG:4326'
      }),
      opacity: 0.85
    });
    this._addOverlay(key, layer);
    if (fit) {
      this.reveal();
      this._map
        .getView()
        .fit(transformExtent(extent, 'EPSG:4326', 'EPSG:3857'), {
          padding: [20, 20, 20, 20],
          maxZoom: 12,
          duration: 200
        });
    }
  }

  clearOverlays(key?: string): void {
    for (const [name, layer] of [...this._overlays]) {
      if (key === undefined || key === name) {
        this._map.removeLayer(layer);
        this._overlays.delete(name);
      }
    }
  }

  get overlays(): string[] {
    return [...this._overlays.keys()];
  }

  private _addOverlay(key: string, layer: BaseLayer): void {
    layer.set('eoJLabOverlay', key);
    this._overlays.set(key, layer);
    // Overlays sit above the footprints, under the drawn areas.
    this._map
      .getLayers()
      .insertAt(this._map.getLayers().getLength() - 2, layer);
  }

  /** Start drawing a box (drag) or a polygon (clicks); null stops and clears the area. */
  draw(mode: 'box' | 'polygon' | null): void {
    this._stopDrawing();
    const source = this._aoi.getSource()!;
    if (mode === null) {
      source.clear();
      return;
    }
    if (mode === 'box') {
      const dragBox = new DragBox({ condition: () => true });
      dragBox.on('boxend', () => {
        const extent = dragBox.getGeometry().getExtent();
        source.clear();
        source.addFeature(new Feature(fromExtent(extent)));
        const [w, s, e, n] = transformExtent(extent, 'EPSG:3857', 'EPSG:4326');
        this._model.update({
          area: {
            kind: 'bbox',
            bbox: [clampLon(w), clampLat(s), clampLon(e), clampLat(n)]
          }
        });
        setTimeout(() => this._stopDrawing());
      });
      this._draw = dragBox;
    } else {
      const draw = new Draw({ source, type: 'Polygon' });
      draw.on('drawstart', () => source.clear());
      draw.on('drawend', event => {
        const geometry = event.feature.getGeometry()!;
        this._model.update({
          area: {
            kind: 'geometry',
            geometry: FORMAT.writeGeometryObject(geometry) as any
          }
        });
        // One area at a time: stop drawing once it is drawn.
        setTimeout(() => this._stopDrawing());
      });
      this._draw = draw;
    }
    this._map.addInteraction(this._draw);
  }

  private _stopDrawing(): void {
    if (this._draw) {
      this._map.removeInteraction(this._draw);
      this._draw = null;
    }
    this.node.classList.remove('jp-mod-drawing');
    this._stopKeys?.();
    this._stopKeys = null;
    if (this._pendingBox) {
      const resolve = this._pendingBox;
      this._pendingBox = null;
      resolve(null);
    }
  }

  zoomTo(item: IItem): void {
    const feature = this._footprints.getSource()!.getFeatureById(item.id);
    const extent = feature?.getGeometry()?.getExtent();
    if (extent) {
      this._map
        .getView()
        .fit(extent, { padding: [20, 20, 20, 20], maxZoom: 10, duration: 200 });
    }
  }

  get olMap(): OlMap {
    return this._map;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    this._model.highlightChanged.disconnect(this._onHighlight, this);
    this._themeWatch.disconnect();
    this._map.setTarget(undefined);
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._map.setTarget(this.node);
    this._map.updateSize();
  }

  protected onBeforeDetach(msg: Message): void {
    this._map.setTarget(undefined);
    super.onBeforeDetach(msg);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._map.updateSize();
  }

  private _onModelChanged(): void {
    const results = this._model.results;
    if (results === this._shown) {
      return;
    }
    const source = this._footprints.getSource()!;
    const known = new Set(this._shown.map(item => item.id));
    const appended =
      this._shown.length > 0 &&
      results.length > this._shown.length &&
      this._shown.every((item, i) => results[i]?.id === item.id);
    if (!appended) {
      source.clear();
      known.clear();
    }
    const features: Feature[] = [];
    for (const item of results) {
      if (known.has(item.id) || !item.geometry) {
        continue;
      }
      const feature = FORMAT.readFeature({
        type: 'Feature',
        id: item.id,
        geometry: item.geometry,
        properties: {}
      }) as Feature;
      features.push(feature);
    }
    source.addFeatures(features);
    this._shown = results;
    const extent = source.getExtent();
    if (!appended && features.length && extent) {
      this._map.getView().fit(extent, {
        padding: [20, 20, 20, 20],
        maxZoom: 8,
        duration: 200
      });
    }
  }

  private _onHighlight(): void {
    this._restyle();
    const selected = this._model.selectedId;
    if (selected && selected !== this._zoomedTo) {
      const item = this._model.selected;
      if (item) {
        this.zoomTo(item);
      }
    }
    this._zoomedTo = selected;
    this._footprints.changed();
  }

  private _restyle(): void {
    const brand = cssVar('--jp-brand-color1', '#1976d2');
    const accent = cssVar('--jp-warn-color0', '#e65100');
    const line = cssVar('--jp-ui-font-color2', '#757575');
    const land = cssVar('--jp-layout-color2', '#eeeeee');
    this._styles = {
      normal: new Style({
        stroke: new Stroke({ color: brand, width: 1.5 }),
        fill: new Fill({ color: 'rgba(25, 118, 210, 0.1)' })
      }),
      hover: new Style({
        stroke: new Stroke({ color: accent, width: 2 }),
        fill: new Fill({ color: 'rgba(230, 81, 0, 0.12)' })
      }),
      selected: new Style({
        stroke: new Stroke({ color: accent, width: 3 }),
        fill: new Fill({ color: 'rgba(230, 81, 0, 0.2)' })
      })
    };
    this._outline.setStyle(
      new Style({
        stroke: new Stroke({ color: line, width: 0.7 }),
        fill: new Fill({ color: land })
      })
    );
    this._aoi.setStyle(
      new Style({
        stroke: new Stroke({ color: accent, width: 2, lineDash: [6, 4] }),
        fill: new Fill({ color: 'rgba(0, 0, 0, 0)' })
      })
    );
    this._box.setStyle(
      new Style({
        stroke: new Stroke({ color: brand, width: 2, lineDash: [4, 4] }),
        fill: new Fill({ color: 'rgba(25, 118, 210, 0.08)' })
      })
    );
    this._overlayStyle = new Style({
      stroke: new Stroke({ color: accent, width: 2 }),
      fill: new Fill({ color: 'rgba(230, 81, 0, 0.25)' })
    });
  }

  private _footprintStyle(feature: Feature): Style {
    const id = feature.getId();
    if (id === this._model.selectedId) {
      return this._styles.selected;
    }
    return id === this._model.hoveredId
      ? this._styles.hover
      : this._styles.normal;
  }

  private _model: SearchModel;
  private _themeWatch: MutationObserver;
  private _map: OlMap;
  private _tiles: TileLayer<XYZ>;
  private _outline: VectorLayer<VectorSource>;
  private _footprints: VectorLayer<VectorSource>;
  private _aoi: VectorLayer<VectorSource>;
  private _box: VectorLayer<VectorSource>;
  private _overlays = new Map<string, BaseLayer>();
  private _overlayStyle!: Style;
  private _pendingBox: ((bbox: BBox | null) => void) | null = null;
  private _stopKeys: (() => void) | null = null;
  private _draw: Draw | DragBox | null = null;
  private _shown: IItem[] = [];
  private _zoomedTo: string | null = null;
  private _styles!: { normal: Style; hover: Style; selected: Style };
}

function clampLon(value: number): number {
  return Math.max(-180, Math.min(180, Number(value.toFixed(5))));
}

function clampLat(value: number): number {
  return Math.max(-90, Math.min(90, Number(value.toFixed(5))));
}
