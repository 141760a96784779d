import * as React from 'react';

import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';

import { ExchangeView, JobsPanel } from '../components/JobsPanel';
import { JobPreviews, JobsModel } from '../models/jobs';
import { IEOMap, IJob, SnippetLanguage } from '../tokens';

export { notifyJobEnded } from '../models/jobs';

export interface IJobsWidgetOptions {
  model: JobsModel;
  /** The sidebar map, where results are previewed. */
  map: IEOMap;
  trans: TranslationBundle;
  /** Called with the code "Copy as code" put on the clipboard. */
  onCopyCode?: (code: string, language: SnippetLanguage) => void;
  /**
   * Called when a job is to be brought into view (`model.reveal`, `showJob`), e.g. to
   * activate the sidebar and unfold this section.
   */
  onShowJob?: (id: string) => void;
}

/**
 * The Jobs section: the job list (re-rendered on `model.changed`), result previews on the
 * map, the raw exchange in a dialog. `model.reveal(id)` (or `showJob`) opens a job's details.
 */
export class JobsWidget extends ReactWidget {
  constructor(options: IJobsWidgetOptions) {
    super();
    this._options = options;
    this.addClass('jp-EOJLab-sectionWidget');
    this.addClass('jp-EOJLab-jobsWidget');
    this.previews = new JobPreviews(options.map, options.model);
    options.model.changed.connect(this._onChange, this);
    options.model.revealRequested.connect(this._onReveal, this);
    this.previews.changed.connect(this._onChange, this);
  }

  /** The results of jobs shown on the map. */
  readonly previews: JobPreviews;

  get model(): JobsModel {
    return this._options.model;
  }

  /** Bring a job into view with its details open. */
  showJob(id: string): void {
    this._options.model.reveal(id);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.model.changed.disconnect(this._onChange, this);
    this._options.model.revealRequested.disconnect(this._onReveal, this);
    this.previews.dispose();
    super.dispose();
  }

  protected onAfterAttach(msg: any): void {
    super.onAfterAttach(msg);
    const { model } = this._options;
    if (!model.loaded && !model.loading) {
      void model.refresh();
    }
  }

  render(): JSX.Element {
    const { model, trans } = this._options;
    return (
      <JobsPanel
        model={model}
        previews={this.previews}
        trans={trans}
        reveal={this._reveal}
        onExchange={job => void this._showExchange(job)}
        onCopyCode={job => this._copyCode(job)}
      />
    );
  }

  private _onChange(): void {
    this.update();
  }

  private _onReveal(_: JobsModel, id: string): void {
    this._reveal = { id, nonce: (this._reveal?.nonce ?? 0) + 1 };
    // onShowJob may itself call model.reveal (e.g. a plugin's "show job"): no loop.
    if (!this._revealing) {
      this._revealing = true;
      try {
        this._options.onShowJob?.(id);
      } finally {
        this._revealing = false;
      }
    }
    this.update();
  }

  private async _copyCode(job: IJob): Promise<void> {
    const snippet = await this._options.model.snippet(
      job.id,
      'python',
      'portable'
    );
    Clipboard.copyToSystem(snippet.code);
    this._options.onCopyCode?.(snippet.code, snippet.language);
  }

  private async _showExchange(job: IJob): Promise<void> {
    const { model, trans } = this._options;
    const body = ReactWidget.create(
      <ExchangeView load={() => model.exchange(job.id)} trans={trans} />
    );
    body.addClass('jp-EOJLab-jobExchangeDialog');
    await showDialog({
      title: trans.__('Exchange of %1 (%2)', job.process, job.service),
      body,
      hasClose: true,
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
  }

  private _options: IJobsWidgetOptions;
  private _reveal: { id: string; nonce: number } | null = null;
  private _revealing = false;
}
