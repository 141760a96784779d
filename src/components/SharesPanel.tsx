import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';
import {
  fileIcon,
  folderIcon,
  LabIcon,
  notebookIcon
} from '@jupyterlab/ui-components';

import { formatSize, SHARE_SCOPES, SharesModel } from '../models/shares';
import { IShare, ShareScope } from '../tokens';
import { formatTime } from './JobsPanel';

export interface ISharesPanelProps {
  model: SharesModel;
  trans: TranslationBundle;
  /** Open a file of a share read-only (`path` defaults to the share's main file). */
  onOpen: (share: IShare, path?: string) => void;
  /** Copy the share into my workspace and open the copy. */
  onCopy: (share: IShare) => Promise<void>;
  /** Publish a new version of one of my shares. */
  onUpdate: (share: IShare) => Promise<void>;
  /** Stop sharing one of my shares (after a confirmation). */
  onUnshare: (share: IShare) => Promise<void>;
  /** Open the "Share…" dialog. */
  onShare?: () => void;
  /** Shares to mark "new" besides the model's new ones (seen while in view). */
  highlight?: ReadonlySet<string>;
}

export function scopeLabel(
  scope: ShareScope,
  trans: TranslationBundle
): string {
  switch (scope) {
    case 'with-me':
      return trans.__('With me');
    case 'by-me':
      return trans.__('By me');
    default:
      return trans.__('Public');
  }
}

/** The icon of a share: folder, notebook or file. */
export function shareIcon(share: { kind: string; name: string }): LabIcon {
  if (share.kind === 'directory') {
    return folderIcon;
  }
  return share.name.toLowerCase().endsWith('.ipynb') ? notebookIcon : fileIcon;
}

/** The Shared section: three lists (with me, by me, public) and the actions on shares. */
export function SharesPanel(props: ISharesPanelProps): JSX.Element {
  const { model, trans } = props;
  const [expanded, setExpanded] = React.useState<ReadonlySet<string>>(
    () => new Set()
  );
  const shares = model.shares();
  const counts = model.counts;
  const fresh = new Set([
    ...(props.highlight ?? []),
    ...model.newShares.map(s => s.id)
  ]);
  const toggle = (id: string): void =>
    setExpanded(current => {
      const next = new Set(current);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });
  return (
    <div className="jp-EOJLab-shares">
      <div className="jp-EOJLab-sharesBar">
        <div
          className="jp-EOJLab-shareTabs"
          role="tablist"
          aria-label={trans.__('Shares')}
        >
          {SHARE_SCOPES.map(scope => (
            <button
              key={scope}
              type="button"
              role="tab"
              className="jp-EOJLab-shareTab"
              data-scope={scope}
              aria-selected={model.scope === scope}
              onClick={() => {
                model.scope = scope;
              }}
            >
              {trans.__('%1 (%2)', scopeLabel(scope, trans), counts[scope])}
            </button>
          ))}
        </div>
        <div className="jp-EOJLab-sharesTools">
          {props.onShare && (
            <button
              type="button"
              className="jp-EOJLab-shareNew jp-EOJLab-jobButton"
              title={trans.__('Share a file or folder of your workspace')}
              onClick={props.onShare}
            >
              {trans.__('Share…')}
            </button>
          )}
          <button
            type="button"
            className="jp-EOJLab-sharesRefresh jp-EOJLab-jobButton"
            title={trans.__('Reload the shares from the server')}
            aria-label={trans.__('Reload the shares')}
            disabled={model.loading}
            onClick={() => void model.refresh()}
          >
            {trans.__('Refresh')}
          </button>
        </div>
      </div>
      {model.error && (
        <p className="jp-EOJLab-error" role="alert">
          {model.error}
        </p>
      )}
      {shares.length === 0 && (
        <p className="jp-EOJLab-empty">
          {model.loading && !model.loaded
            ? trans.__('Loading…')
            : emptyText(model.scope, trans)}
        </p>
      )}
      <ul
        className="jp-EOJLab-shareList"
        role="tabpanel"
        aria-label={scopeLabel(model.scope, trans)}
      >
        {shares.map(share => (
          <ShareRow
            key={share.id}
            {...props}
            share={share}
            fresh={fresh.has(share.id)}
            expanded={expanded.has(share.id)}
            onToggle={() => toggle(share.id)}
          />
        ))}
      </ul>
    </div>
  );
}

function emptyText(scope: ShareScope, trans: TranslationBundle): string {
  switch (scope) {
    case 'with-me':
      return trans.__('Nothing is shared with you yet.');
    case 'by-me':
      return trans.__(
        'You share nothing yet. Right-click a file or folder in the file browser and choose "Share…".'
      );
    default:
      return trans.__('There are no public shares.');
  }
}

/** Runs an action once at a time; remembers its error sentence. */
function useAction(): [
  boolean,
  string | null,
  (action: () => Promise<void>) => void
] {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const live = React.useRef(true);
  React.useEffect(
    () => () => {
      live.current = false;
    },
    []
  );
  const run = (action: () => Promise<void>): void => {
    setBusy(true);
    setError(null);
    action().then(
      () => live.current && setBusy(false),
      reason => {
        if (live.current) {
          setBusy(false);
          setError(reason instanceof Error ? reason.message : String(reason));
        }
      }
    );
  };
  return [busy, error, run];
}

function ShareRow(
  props: ISharesPanelProps & {
    share: IShare;
    fresh: boolean;
    expanded: boolean;
    onToggle: () => void;
  }
): JSX.Element {
  const { share, trans, model, expanded } = props;
  const [busy, error, run] = useAction();
  const detailsId = React.useId();
  const mine = model.isMine(share);
  const Icon = shareIcon(share);
  return (
    <li
      className={`jp-EOJLab-share${expanded ? ' jp-mod-expanded' : ''}${
        props.fresh ? ' jp-mod-new' : ''
      }`}
      data-share-id={share.id}
      data-share-name={share.name}
      data-kind={share.kind}
    >
      <div className="jp-EOJLab-shareHead">
        <Icon.react
          tag="span"
          className="jp-EOJLab-shareIcon"
          title={
            share.kind === 'directory' ? trans.__('Folder') : trans.__('File')
          }
        />
        <span className="jp-EOJLab-shareName" title={share.name}>
          {share.name}
        </span>
        {props.fresh && (
          <span className="jp-EOJLab-shareBadge">{trans.__('new')}</span>
        )}
        <span
          className="jp-EOJLab-shareVersion"
          title={trans.__('Version %1', share.version)}
        >
          {trans.__('v%1', share.version)}
        </span>
      </div>
      <div className="jp-EOJLab-shareMeta">
        <span className="jp-EOJLab-shareOwner" title={trans.__('Owner')}>
          {mine ? trans.__('%1 (you)', share.owner) : share.owner}
        </span>
        <time
          dateTime={share.updated}
          title={trans.__('Updated %1', share.updated)}
        >
          {formatTime(share.updated)}
        </time>
        {share.recipients?.public && (
          <span className="jp-EOJLab-sharePublicTag">{trans.__('public')}</span>
        )}
      </div>
      {share.message && (
        <div className="jp-EOJLab-shareMessageText" title={share.message}>
          {share.message}
        </div>
      )}
      <div className="jp-EOJLab-jobActions">
        <button
          type="button"
          className="jp-EOJLab-shareOpen jp-EOJLab-jobButton"
          title={
            share.kind === 'directory'
              ? trans.__('List the files of this folder')
              : trans.__('Open a read-only view of this file')
          }
          onClick={() =>
            share.kind === 'directory'
              ? !expanded && props.onToggle()
              : props.onOpen(share)
          }
        >
          {trans.__('Open')}
        </button>
        <button
          type="button"
          className="jp-EOJLab-shareCopy jp-EOJLab-jobButton"
          title={trans.__(
            'Copy into your workspace (never overwrites) and open the copy'
          )}
          disabled={busy}
          onClick={() => run(() => props.onCopy(share))}
        >
          {trans.__('Copy to my workspace')}
        </button>
        {mine && (
          <button
            type="button"
            className="jp-EOJLab-shareUpdate jp-EOJLab-jobButton"
            title={trans.__(
              'Publish your current version of %1 to its recipients',
              share.name
            )}
            disabled={busy}
            onClick={() => run(() => props.onUpdate(share))}
          >
            {trans.__('Update share')}
          </button>
        )}
        {mine && (
          <button
            type="button"
            className="jp-EOJLab-shareDelete jp-EOJLab-jobButton"
            title={trans.__('Stop sharing %1', share.name)}
            disabled={busy}
            onClick={() => run(() => props.onUnshare(share))}
          >
            {trans.__('Unshare')}
          </button>
        )}
        <button
          type="button"
          className="jp-EOJLab-shareDetails jp-EOJLab-jobButton"
          aria-expanded={expanded}
          aria-controls={detailsId}
          onClick={props.onToggle}
        >
          {expanded ? trans.__('Hide details') : trans.__('Details')}
        </button>
      </div>
      {error && (
        <p className="jp-EOJLab-error" role="alert">
          {error}
        </p>
      )}
      {expanded && <ShareDetails {...props} id={detailsId} />}
    </li>
  );
}

/** Recipients, files, size and versions of a share (loaded with `GET shares/{sid}`). */
function ShareDetails(
  props: ISharesPanelProps & { share: IShare; id: string }
): JSX.Element {
  const { trans, model } = props;
  const [full, setFull] = React.useState<IShare | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let live = true;
    model.details(props.share.id).then(
      share => live && setFull(share),
      reason =>
        live &&
        setError(reason instanceof Error ? reason.message : String(reason))
    );
    return () => {
      live = false;
    };
  }, [props.share.id, props.share.version]);
  const share = full ?? props.share;
  const recipients = share.recipients ?? {
    users: [],
    groups: [],
    public: false
  };
  const none = trans.__('none');
  return (
    <div
      className="jp-EOJLab-shareDetailsBody"
      id={props.id}
      aria-label={trans.__('Share details')}
    >
      <table>
        <tbody>
          <tr>
            <th>{trans.__('Users')}</th>
            <td>{recipients.users.join(', ') || none}</td>
          </tr>
          <tr>
            <th>{trans.__('Groups')}</th>
            <td>{recipients.groups.join(', ') || none}</td>
          </tr>
          <tr>
            <th>{trans.__('Public')}</th>
            <td>{recipients.public ? trans.__('yes') : trans.__('no')}</td>
          </tr>
          <tr>
            <th>{trans.__('Size')}</th>
            <td>{formatSize(share.size)}</td>
          </tr>
          <tr>
            <th>{trans.__('Shared')}</th>
            <td>{formatTime(share.created)}</td>
          </tr>
        </tbody>
      </table>
      {error && (
        <p className="jp-EOJLab-error" role="alert">
          {error}
        </p>
      )}
      <div className="jp-EOJLab-jobLabel">
        {trans.__('Files (%1)', (share.files ?? []).length)}
      </div>
      <ul className="jp-EOJLab-shareFiles">
        {(share.files ?? []).map(path => (
          <li key={path}>
            <button
              type="button"
              className="jp-EOJLab-shareFile"
              title={trans.__('Open a read-only view of %1', path)}
              onClick={() => props.onOpen(share, path)}
            >
              {path}
            </button>
          </li>
        ))}
      </ul>
      {(share.versions ?? []).length > 0 && (
        <>
          <div className="jp-EOJLab-jobLabel">{trans.__('Versions')}</div>
          <ol className="jp-EOJLab-shareVersions" reversed>
            {[...share.versions!].reverse().map(version => (
              <li key={version.version}>
                <span>{trans.__('v%1', version.version)}</span>{' '}
                <time dateTime={version.created}>
                  {formatTime(version.created)}
                </time>{' '}
                <span>{formatSize(version.size)}</span>
                {version.message && (
                  <span className="jp-EOJLab-shareVersionMessage">
                    {' — '}
                    {version.message}
                  </span>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
