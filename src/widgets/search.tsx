import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Panel } from '@lumino/widgets';

import { SearchPanel } from '../components/SearchPanel';
import { SearchSection } from '../components/Sections';
import { SearchModel } from '../models/search';
import { IEOJLabModel, IItem } from '../tokens';
import { SearchMap } from './map';

/** The Search section: the map above, the form, results and details below. */
export class SearchWidget extends Panel {
  constructor(options: {
    config: IEOJLabModel;
    search: SearchModel;
    trans: TranslationBundle;
    basemapUrl: string;
    onInsert: (item: IItem) => void;
  }) {
    super();
    const { config, search, trans } = options;
    this.addClass('jp-EOJLab-searchWidget');
    this.map = new SearchMap(
      search,
      options.basemapUrl,
      trans.__('Search map')
    );
    const body = ReactWidget.create(
      <UseSignal signal={config.changed}>
        {() => (
          <UseSignal signal={search.changed}>
            {() => (
              <>
                <SearchPanel
                  model={search}
                  catalogues={config.config?.catalogues ?? []}
                  trans={trans}
                  onDraw={mode => this.map.draw(mode)}
                  onInsert={options.onInsert}
                  onZoom={item => this.map.zoomTo(item)}
                />
                <details className="jp-EOJLab-catalogues" open>
                  <summary>{trans.__('Catalogues')}</summary>
                  <SearchSection model={config} trans={trans} />
                </details>
              </>
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
    body.addClass('jp-EOJLab-searchBody');
    this.addWidget(this.map);
    this.addWidget(body);
    this._search = search;
  }

  readonly map: SearchMap;

  /** On screen: a restored search re-runs now (not while the sidebar stays closed). */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._search.activate();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._search.activate();
    }
  }

  private _search: SearchModel;
}
