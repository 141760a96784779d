import * as React from 'react';

import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  MainAreaWidget,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';

import { SharedSection } from '../components/Sections';
import {
  IShareFormValues,
  isValid,
  ShareForm,
  toRecipients,
  validateShareForm
} from '../components/ShareDialog';
import { shareIcon, SharesPanel } from '../components/SharesPanel';
import { SharesModel } from '../models/shares';
import { IEOJLabModel, IShare } from '../tokens';

export interface ISharesWidgetOptions {
  model: SharesModel;
  /** The configuration (is sharing on? who am I?). */
  config: IEOJLabModel;
  trans: TranslationBundle;
  /** Open a file of my workspace (e.g. `docmanager:open`). */
  openPath: (path: string) => unknown;
  /** Show a folder of my workspace (e.g. `filebrowser:go-to-path`). */
  openFolder?: (path: string) => unknown;
  /** Open one file of a share read-only (see `openSharedFile`). */
  openShared: (share: IShare, path?: string) => void;
  /** Open the "Share…" dialog (e.g. the `eo-jlab:share` command). */
  onShare?: () => void;
}

/**
 * The Shared section. When sharing is off (or the configuration is not loaded) it shows the
 * configuration sentence; else the three lists. Its title carries the number of shares new
 * to the user (`data-eo-new`, drawn as a badge); looking at "With me" or "Public" clears it.
 */
export class SharesWidget extends ReactWidget {
  constructor(options: ISharesWidgetOptions) {
    super();
    this._options = options;
    this.addClass('jp-EOJLab-sectionWidget');
    this.addClass('jp-EOJLab-sharesWidget');
    options.model.changed.connect(this._onChange, this);
    options.config.changed.connect(this._onChange, this);
  }

  get model(): SharesModel {
    return this._options.model;
  }

  /** Copy a share into my workspace, open the copy and say where it is. */
  async copy(share: IShare): Promise<string> {
    const { model, trans } = this._options;
    const path = await model.copy(share.id);
    Notification.success(trans.__('%1 copied to %2', share.name, path), {
      autoClose: 5000
    });
    try {
      if (share.kind === 'file') {
        await this._options.openPath(path);
      } else {
        await this._options.openFolder?.(path);
      }
    } catch (error) {
      // The copy is made (and announced); only opening it failed.
      console.warn(`eo_jlab: could not open ${path}.`, error);
    }
    return path;
  }

  /** Publish the owner's current file(s) as a new version. */
  async updateShare(share: IShare): Promise<void> {
    const { model, trans } = this._options;
    const updated = await model.newVersion(share.id);
    Notification.success(
      trans.__('%1 is shared in version %2.', updated.name, updated.version),
      { autoClose: 4000 }
    );
  }

  /** Stop sharing, after a confirmation. */
  async unshare(share: IShare): Promise<void> {
    const { model, trans } = this._options;
    const answer = await showDialog({
      title: trans.__('Unshare %1?', share.name),
      body: trans.__(
        'Its recipients lose access to every version. Copies they made stay theirs.'
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Unshare') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    await model.unshare(share.id);
    Notification.info(trans.__('%1 is no longer shared.', share.name), {
      autoClose: 3000
    });
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.model.changed.disconnect(this._onChange, this);
    this._options.config.changed.disconnect(this._onChange, this);
    super.dispose();
  }

  protected onAfterShow(msg: any): void {
    super.onAfterShow(msg);
    this._look();
  }

  protected onAfterAttach(msg: any): void {
    super.onAfterAttach(msg);
    const { model } = this._options;
    if (model.enabled && !model.loaded && !model.loading) {
      void model.refresh();
    }
  }

  protected onAfterHide(msg: any): void {
    super.onAfterHide(msg);
    this._highlight = new Set();
  }

  render(): JSX.Element {
    const { model, config, trans } = this._options;
    const sharing = config.config?.sharing;
    if (config.error || !config.config || !sharing?.enabled) {
      return <SharedSection model={config} trans={trans} />;
    }
    return (
      <SharesPanel
        model={model}
        trans={trans}
        highlight={this._highlight}
        onOpen={(share, path) => this._options.openShared(share, path)}
        onCopy={async share => {
          await this.copy(share);
        }}
        onUpdate={share => this.updateShare(share)}
        onUnshare={share => this.unshare(share)}
        onShare={this._options.onShare}
      />
    );
  }

  private _onChange(): void {
    this._look();
    const count = this._options.model.enabled
      ? this._options.model.newCount
      : 0;
    const badge = count ? String(count) : undefined;
    if (this.title.dataset.eoNew !== badge) {
      const { trans } = this._options;
      this.title.dataset = badge ? { eoNew: badge } : {};
      this.title.caption = count
        ? trans.__('%1 new shares with you', count)
        : '';
    }
    this.update();
  }

  /** While "With me" or "Public" is in view, what is new there has been seen. */
  private _look(): void {
    const { model } = this._options;
    if (
      this.isVisible &&
      model.enabled &&
      model.loaded &&
      model.scope !== 'by-me' &&
      model.newCount > 0
    ) {
      // Keep the "new" marks of the rows in view until the section is folded.
      this._highlight = new Set([
        ...this._highlight,
        ...model.newShares.map(s => s.id)
      ]);
      void model.markSeen();
    }
  }

  private _options: ISharesWidgetOptions;
  private _highlight: ReadonlySet<string> = new Set();
}

/* ---- The "Share…" dialog ---- */

export interface IShareDialogOptions {
  model: SharesModel;
  trans: TranslationBundle;
  /** The path to prefill. */
  path: string;
  mode?: 'local' | 'hub';
  /** Called with the new share (e.g. to offer "Show"). */
  onShow?: (share: IShare) => void;
}

/**
 * Ask for recipients and a message, then share `path`. The dialog comes back with its
 * values and errors when they are invalid or the server refuses them. Resolves with the
 * share, or null when cancelled.
 */
export async function showShareDialog(
  options: IShareDialogOptions
): Promise<IShare | null> {
  const { model, trans } = options;
  let values: IShareFormValues = {
    path: options.path,
    users: '',
    groups: '',
    public: false,
    message: ''
  };
  let showErrors = false;
  let serverError: string | null = null;
  for (;;) {
    let current = values;
    const body = ReactWidget.create(
      <ShareForm
        initial={values}
        trans={trans}
        mode={options.mode}
        showErrors={showErrors}
        serverError={serverError}
        suggestions={
          // Only a hub knows other users and groups (and may offer no list at all).
          options.mode === 'hub' ? what => model.suggestions(what) : undefined
        }
        onChange={next => {
          current = next;
        }}
      />
    );
    body.addClass('jp-EOJLab-shareDialog');
    const result = await showDialog({
      title: trans.__('Share'),
      body,
      focusNodeSelector: 'input.jp-EOJLab-sharePath',
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Share') })
      ]
    });
    values = current;
    if (!result.button.accept) {
      return null;
    }
    if (!isValid(validateShareForm(values, trans))) {
      showErrors = true;
      serverError = null;
      continue;
    }
    try {
      const path = values.path.trim().replace(/^\/+/, '');
      const share = await model.create(
        path,
        toRecipients(values),
        values.message.trim() || undefined
      );
      const recipients = toRecipients(values);
      const who = [
        ...recipients.users,
        ...recipients.groups,
        ...(recipients.public ? [trans.__('everyone')] : [])
      ].join(', ');
      Notification.success(trans.__('%1 is shared with %2.', share.name, who), {
        autoClose: 5000,
        actions: options.onShow
          ? [
              {
                label: trans.__('Show'),
                caption: trans.__('Show the share in the Shared section'),
                callback: () => options.onShow!(share)
              }
            ]
          : []
      });
      return share;
    } catch (error) {
      showErrors = true;
      serverError = error instanceof Error ? error.message : String(error);
    }
  }
}

/* ---- Read-only view of a shared file ---- */

/**
 * Open one file of a share in the main area, read-only: text files as text, notebooks as
 * their cells' sources and text/image outputs (never as HTML), images as images. A "Copy to
 * my workspace" button makes an editable copy. (A read-only view rather than a real
 * notebook: a shared file is not a document of the user's contents, and rendering its HTML
 * outputs would run another user's markup in this page.)
 */
export function openSharedFile(
  app: JupyterFrontEnd,
  options: {
    model: SharesModel;
    trans: TranslationBundle;
    share: IShare;
    path?: string;
    onCopy: (share: IShare) => Promise<unknown>;
  }
): MainAreaWidget {
  const { share, trans } = options;
  const path =
    options.path ??
    (share.kind === 'file' ? share.name : ((share.files ?? [])[0] ?? ''));
  const id = `jp-EOJLab-shared-${share.id}-v${share.version}-${encodeURIComponent(path)}`;
  const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
  if (open) {
    app.shell.activateById(id);
    return open as MainAreaWidget;
  }
  const content = ReactWidget.create(
    <UseSignal signal={options.model.changed}>
      {() => (
        <SharedFileView
          share={share}
          path={path}
          trans={trans}
          load={() => options.model.readFile(share.id, path)}
          onCopy={() => options.onCopy(share)}
        />
      )}
    </UseSignal>
  );
  content.addClass('jp-EOJLab-sharedFile');
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  const base = path.split('/').pop() || share.name;
  widget.title.label = trans.__('%1 (shared)', base);
  widget.title.caption = trans.__(
    '%1 — shared by %2, version %3, read-only',
    path,
    share.owner,
    share.version
  );
  widget.title.icon = shareIcon({ kind: 'file', name: base });
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
  return widget;
}

type Loaded =
  | { kind: 'loading' }
  | { kind: 'error'; message: string }
  | { kind: 'text'; text: string }
  | { kind: 'notebook'; cells: INotebookCell[] }
  | { kind: 'image'; url: string }
  | { kind: 'binary'; size: number };

interface INotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: any[];
}

const MAX_TEXT = 2_000_000;

/** The read-only content of one shared file. */
export function SharedFileView(props: {
  share: IShare;
  path: string;
  trans: TranslationBundle;
  load: () => Promise<Response>;
  onCopy: () => Promise<unknown>;
}): JSX.Element {
  const { share, path, trans } = props;
  const [state, setState] = React.useState<Loaded>({ kind: 'loading' });
  const [copying, setCopying] = React.useState(false);
  React.useEffect(() => {
    let live = true;
    let url: string | null = null;
    const run = async (): Promise<Loaded> => {
      const response = await props.load();
      const type = (response.headers.get('Content-Type') ?? '').toLowerCase();
      if (type.startsWith('image/') && !type.includes('svg')) {
        url = URL.createObjectURL(await response.blob());
        return { kind: 'image', url };
      }
      const buffer = await response.arrayBuffer();
      const bytes = new Uint8Array(buffer.slice(0, 8000));
      if (bytes.includes(0)) {
        return { kind: 'binary', size: buffer.byteLength };
      }
      let text = new TextDecoder().decode(buffer);
      if (path.toLowerCase().endsWith('.ipynb')) {
        try {
          const notebook = JSON.parse(text);
          if (Array.isArray(notebook.cells)) {
            return { kind: 'notebook', cells: notebook.cells };
          }
        } catch {
          // not JSON: shown as text
        }
      }
      if (text.length > MAX_TEXT) {
        text = `${text.slice(0, MAX_TEXT)}\n…`;
      }
      return { kind: 'text', text };
    };
    run().then(
      loaded => (live ? setState(loaded) : undefined),
      error =>
        live &&
        setState({
          kind: 'error',
          message: error instanceof Error ? error.message : String(error)
        })
    );
    return () => {
      live = false;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [share.id, share.version, path]);
  return (
    <div className="jp-EOJLab-sharedView" data-share-id={share.id}>
      <div className="jp-EOJLab-sharedViewBar">
        <span className="jp-EOJLab-sharedViewTitle">
          {trans.__(
            '%1 — shared by %2, version %3 (read-only)',
            share.kind === 'directory' ? `${share.name}/${path}` : path,
            share.owner,
            share.version
          )}
        </span>
        <button
          type="button"
          className="jp-EOJLab-shareCopy jp-EOJLab-jobButton"
          disabled={copying}
          onClick={() => {
            setCopying(true);
            props.onCopy().then(
              () => setCopying(false),
              error => {
                setCopying(false);
                Notification.error(
                  error instanceof Error ? error.message : String(error),
                  { autoClose: 5000 }
                );
              }
            );
          }}
        >
          {trans.__('Copy to my workspace')}
        </button>
      </div>
      {share.message && (
        <p className="jp-EOJLab-shareMessageText">{share.message}</p>
      )}
      <SharedContent state={state} trans={trans} />
    </div>
  );
}

function SharedContent(props: {
  state: Loaded;
  trans: TranslationBundle;
}): JSX.Element {
  const { state, trans } = props;
  switch (state.kind) {
    case 'loading':
      return <p className="jp-EOJLab-empty">{trans.__('Loading…')}</p>;
    case 'error':
      return (
        <p className="jp-EOJLab-error" role="alert">
          {state.message}
        </p>
      );
    case 'image':
      return <img className="jp-EOJLab-sharedImage" src={state.url} alt="" />;
    case 'binary':
      return (
        <p className="jp-EOJLab-empty">
          {trans.__(
            'A binary file (%1 bytes): copy it to your workspace to use it.',
            state.size
          )}
        </p>
      );
    case 'text':
      return <pre className="jp-EOJLab-sharedText">{state.text}</pre>;
    default:
      return (
        <div className="jp-EOJLab-sharedNotebook">
          {state.cells.map((cell, index) => (
            <NotebookCell key={index} cell={cell} trans={trans} />
          ))}
        </div>
      );
  }
}

function joined(source: unknown): string {
  return Array.isArray(source) ? source.join('') : String(source ?? '');
}

const IMAGE_OUTPUTS = ['image/png', 'image/jpeg', 'image/gif'];

/** One notebook cell, as text (markdown is shown as its source, never as HTML). */
function NotebookCell(props: {
  cell: INotebookCell;
  trans: TranslationBundle;
}): JSX.Element {
  const { cell, trans } = props;
  const outputs = Array.isArray(cell.outputs) ? cell.outputs : [];
  return (
    <div
      className={`jp-EOJLab-sharedCell jp-EOJLab-sharedCell-${cell.cell_type}`}
    >
      <pre className="jp-EOJLab-sharedSource">{joined(cell.source)}</pre>
      {outputs.map((output, index) => {
        if (output?.output_type === 'stream') {
          return (
            <pre key={index} className="jp-EOJLab-sharedOutput">
              {joined(output.text)}
            </pre>
          );
        }
        if (output?.output_type === 'error') {
          return (
            <pre
              key={index}
              className="jp-EOJLab-sharedOutput jp-EOJLab-sharedOutputError"
            >
              {`${output.ename}: ${output.evalue}`}
            </pre>
          );
        }
        const data = output?.data ?? {};
        const image = IMAGE_OUTPUTS.find(
          type => typeof data[type] === 'string'
        );
        if (image) {
          return (
            <img
              key={index}
              className="jp-EOJLab-sharedImage"
              alt={trans.__('Output image')}
              src={`data:${image};base64,${data[image].replace(/\s/g, '')}`}
            />
          );
        }
        if (data['text/plain'] !== undefined) {
          return (
            <pre key={index} className="jp-EOJLab-sharedOutput">
              {joined(data['text/plain'])}
            </pre>
          );
        }
        return null;
      })}
    </div>
  );
}
