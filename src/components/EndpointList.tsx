import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import { EndpointHealth, IEndpoint } from '../tokens';

export interface IEndpointListProps {
  endpoints: IEndpoint[];
  health: (id: string) => EndpointHealth;
  trans: TranslationBundle;
  /** Shown when there is no endpoint. */
  emptyText: string;
}

/** The configured endpoints of one kind, each with its reachability. Texts render as text. */
export function EndpointList(props: IEndpointListProps): JSX.Element {
  const { endpoints, health, trans } = props;
  if (endpoints.length === 0) {
    return <p className="jp-EOJLab-empty">{props.emptyText}</p>;
  }
  return (
    <ul className="jp-EOJLab-endpoints" aria-label={trans.__('Endpoints')}>
      {endpoints.map(endpoint => (
        <EndpointRow
          key={endpoint.id}
          endpoint={endpoint}
          health={health(endpoint.id)}
          trans={trans}
        />
      ))}
    </ul>
  );
}

function EndpointRow(props: {
  endpoint: IEndpoint;
  health: EndpointHealth;
  trans: TranslationBundle;
}): JSX.Element {
  const { endpoint, health, trans } = props;
  const status = describe(health, trans);
  return (
    <li
      className="jp-EOJLab-endpoint"
      data-endpoint-id={endpoint.id}
      data-health={health.state}
    >
      <span
        className={`jp-EOJLab-health jp-EOJLab-health-${health.state}`}
        role="img"
        aria-label={status}
        title={status}
      />
      <div className="jp-EOJLab-endpoint-text">
        <div className="jp-EOJLab-endpoint-title">
          <span>{endpoint.title}</span>
          <span className="jp-EOJLab-protocol">{endpoint.protocol}</span>
        </div>
        <div className="jp-EOJLab-endpoint-url" title={endpoint.url}>
          {endpoint.url || trans.__('runs inside this Jupyter server')}
        </div>
        {health.state === 'error' && (
          <div className="jp-EOJLab-endpoint-error">{health.message}</div>
        )}
        {health.state === 'ok' && health.detail && (
          <div className="jp-EOJLab-endpoint-note">{health.detail}</div>
        )}
      </div>
    </li>
  );
}

function describe(health: EndpointHealth, trans: TranslationBundle): string {
  switch (health.state) {
    case 'ok':
      return health.title
        ? trans.__(
            'Answering (%1): %2',
            `${Math.round(health.elapsedMs)} ms`,
            health.title
          )
        : trans.__('Answering (%1)', `${Math.round(health.elapsedMs)} ms`);
    case 'error':
      return trans.__('Not answering: %1', health.message);
    case 'checking':
      return trans.__('Checking…');
    default:
      return trans.__('Not checked');
  }
}
