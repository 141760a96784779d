import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';

import { ProcessesPanel } from '../components/ProcessesPanel';
import { ProcessesSection } from '../components/Sections';
import { ProcessesModel } from '../models/processes';
import { IEOJLabModel, IEOMap, IItem, IJob, SnippetLanguage } from '../tokens';

/** The Processes section: services and their health, processes, the generated form. */
export class ProcessesWidget extends ReactWidget {
  constructor(
    private readonly _options: {
      config: IEOJLabModel;
      model: ProcessesModel;
      map: IEOMap | null;
      trans: TranslationBundle;
      results: () => IItem[];
      onInsertCode: () => void;
      onCopyCode: (language: SnippetLanguage) => void;
      onShowJob: (job: IJob) => void;
    }
  ) {
    super();
    this.addClass('jp-EOJLab-sectionWidget');
    this.addClass('jp-EOJLab-processesWidget');
    _options.config.changed.connect(this._onConfig, this);
    this._onConfig();
  }

  private _onConfig(): void {
    const { config, model } = this._options;
    model.setServices(config.config?.processing ?? []);
  }

  render(): JSX.Element {
    const { config, model, trans } = this._options;
    return (
      <UseSignal signal={config.changed}>
        {() => (
          <UseSignal signal={model.changed}>
            {() =>
              model.services.length === 0 ? (
                <ProcessesSection model={config} trans={trans} />
              ) : (
                <>
                  <ProcessesPanel {...this._options} />
                  <details className="jp-EOJLab-catalogues">
                    <summary>{trans.__('Processing services')}</summary>
                    <ProcessesSection model={config} trans={trans} />
                  </details>
                </>
              )
            }
          </UseSignal>
        )}
      </UseSignal>
    );
  }
}
