import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import { IEOJLabModel } from '../tokens';
import { EndpointList } from './EndpointList';

export interface ISectionProps {
  model: IEOJLabModel;
  trans: TranslationBundle;
}

/** Shared frame: the loading state and the configuration error, if any. */
function Frame(
  props: ISectionProps & { children: React.ReactNode }
): JSX.Element {
  const { model, trans } = props;
  if (model.error) {
    return (
      <div className="jp-EOJLab-section">
        <p className="jp-EOJLab-error" role="alert">
          {model.error}
        </p>
      </div>
    );
  }
  if (!model.config) {
    return (
      <div className="jp-EOJLab-section">
        <p className="jp-EOJLab-empty">{trans.__('Loading…')}</p>
      </div>
    );
  }
  return <div className="jp-EOJLab-section">{props.children}</div>;
}

export function SearchSection(props: ISectionProps): JSX.Element {
  const { model, trans } = props;
  return (
    <Frame {...props}>
      <EndpointList
        endpoints={model.config?.catalogues ?? []}
        health={id => model.health(id)}
        trans={trans}
        emptyText={trans.__(
          'No catalogue is configured. An operator adds STAC, OpenSearch, CSW or static catalogues with c.EOJLab.catalogues.'
        )}
      />
    </Frame>
  );
}

export function ProcessesSection(props: ISectionProps): JSX.Element {
  const { model, trans } = props;
  return (
    <Frame {...props}>
      <EndpointList
        endpoints={model.config?.processing ?? []}
        health={id => model.health(id)}
        trans={trans}
        emptyText={trans.__(
          'No processing service is configured. An operator adds WPS, OGC API – Processes or a local sandbox with c.EOJLab.processing.'
        )}
      />
    </Frame>
  );
}

export function JobsSection(props: ISectionProps): JSX.Element {
  const { trans } = props;
  return (
    <Frame {...props}>
      <p className="jp-EOJLab-empty">
        {trans.__(
          'No jobs yet. Jobs submitted to processing services are listed here.'
        )}
      </p>
    </Frame>
  );
}

export function SharedSection(props: ISectionProps): JSX.Element {
  const { model, trans } = props;
  const sharing = model.config?.sharing;
  return (
    <Frame {...props}>
      <p
        className="jp-EOJLab-empty"
        data-sharing={sharing?.enabled ? sharing.mode : 'off'}
      >
        {!sharing?.enabled
          ? trans.__(
              'Sharing is off. An operator turns it on with c.EOJLab.shared_root (one server) or c.EOJLab.share_service_url (JupyterHub).'
            )
          : sharing.mode === 'hub'
            ? trans.__('Sharing with other users of this JupyterHub is on.')
            : trans.__('Sharing through the local share store is on.')}
      </p>
    </Frame>
  );
}
