import * as React from 'react';

import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { copyIcon, launchIcon } from '@jupyterlab/ui-components';

import { assetUrl, isBrowserImage, quicklookUrl } from '../api';
import { IItem } from '../tokens';

export interface IItemDetailsProps {
  item: IItem;
  /** The catalogue the item comes from (its quicklook route). */
  catalogue: string;
  trans: TranslationBundle;
  onInsert: (item: IItem) => void;
  onZoom: (item: IItem) => void;
}

/** The largest picture of an item a browser shows: its overview or visual asset (a PNG or
 * JPEG, never a GeoTIFF), else its thumbnail. */
export function overviewHref(item: IItem): string | null {
  const assets = Object.values(item.assets ?? {});
  const role = (name: string) =>
    assets.find(a => a.roles?.includes(name) && isBrowserImage(a))?.href ??
    null;
  return role('overview') ?? role('visual') ?? item.thumbnail ?? null;
}

/** The item's picture at full size in a dialog (Escape or Close closes it). */
export async function showQuicklook(
  item: IItem,
  catalogue: string,
  trans: TranslationBundle
): Promise<void> {
  const href = overviewHref(item);
  if (!href) {
    return;
  }
  const title = String(item.properties.title ?? item.id);
  await showDialog({
    title,
    body: (
      <img
        className="jp-EOJLab-quicklookLarge"
        src={quicklookUrl(catalogue, href)}
        alt={trans.__('Quicklook of %1', title)}
      />
    ),
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}

/** "154 (ascending)", "31TCJ": a few properties joined, or undefined when none is set. */
function joined(...values: unknown[]): string | undefined {
  const set = values.filter(v => v !== null && v !== undefined && v !== '') as (
    string | number
  )[];
  if (!set.length) {
    return undefined;
  }
  return set.length === 1
    ? String(set[0])
    : `${set[0]} (${set.slice(1).join(', ')})`;
}

/** The rows of the details table, in reading order: [label, value] with a value. */
export function detailRows(
  item: IItem,
  trans: TranslationBundle
): [string, string][] {
  const p = item.properties;
  const mgrs =
    p['mgrs:utm_zone'] !== undefined
      ? `${p['mgrs:utm_zone']}${p['mgrs:latitude_band'] ?? ''}${p['mgrs:grid_square'] ?? ''}`
      : undefined;
  const wrs =
    p['landsat:wrs_path'] !== undefined
      ? `${p['landsat:wrs_path']}/${p['landsat:wrs_row'] ?? ''}`
      : undefined;
  const orbit = p['relative_orbit'] ?? p['sat:relative_orbit'];
  const direction = p['sat:orbit_state'] ?? p['orbit_direction'];
  const rows: [string, unknown][] = [
    [trans.__('Id'), item.id],
    [trans.__('Collection'), p.collection],
    [trans.__('Date'), p.datetime ?? p.start_datetime],
    [trans.__('Platform'), p.platform],
    [trans.__('Instrument'), p.instrument],
    [trans.__('Product type'), p.product_type],
    [trans.__('Cloud cover'), p.cloud_cover],
    [trans.__('Tile'), p['s2:mgrs_tile'] ?? mgrs ?? wrs ?? p['tileId']],
    [
      trans.__('Relative orbit'),
      orbit === undefined || orbit === null
        ? undefined
        : joined(orbit, direction)
    ],
    [
      trans.__('Orbit direction'),
      orbit === undefined || orbit === null ? direction : undefined
    ],
    [trans.__('Absolute orbit'), p['sat:absolute_orbit']],
    [
      trans.__('Processing level'),
      p['processing:level'] ?? p['processing_level']
    ],
    [trans.__('Processing baseline'), p['s2:processing_baseline']]
  ];
  return rows
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([label, value]) => [label, String(value)]);
}

/** Everything the catalogue said about the item, as text (objects as JSON). */
function allProperties(item: IItem): [string, string][] {
  return Object.entries(item.properties)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => [
      key,
      typeof value === 'object' ? JSON.stringify(value) : String(value)
    ]);
}

/** The selected item: its picture, main properties, all properties and its assets. */
export function ItemDetails(props: IItemDetailsProps): JSX.Element {
  const { item, catalogue, trans } = props;
  const overview = overviewHref(item);
  const properties = allProperties(item);
  return (
    <div
      className="jp-EOJLab-details"
      aria-label={trans.__('Selected product')}
    >
      <div className="jp-EOJLab-details-title">
        {item.properties.title ?? item.id}
      </div>
      {overview && (
        <button
          type="button"
          className="jp-EOJLab-quicklookButton"
          title={trans.__('Show the quicklook at full size')}
          onClick={() => void showQuicklook(item, catalogue, trans)}
        >
          <img
            className="jp-EOJLab-quicklook"
            src={quicklookUrl(catalogue, overview)}
            alt={trans.__('Quicklook')}
          />
        </button>
      )}
      <table className="jp-EOJLab-detailsTable">
        <tbody>
          {detailRows(item, trans).map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {properties.length > 0 && (
        <details className="jp-EOJLab-allProperties">
          <summary>
            {trans.__('All properties (%1)', properties.length)}
          </summary>
          <dl>
            {properties.map(([key, value]) => (
              <React.Fragment key={key}>
                <dt>{key}</dt>
                <dd>{value}</dd>
              </React.Fragment>
            ))}
          </dl>
        </details>
      )}
      <div className="jp-EOJLab-subtitle">{trans.__('Assets')}</div>
      <ul className="jp-EOJLab-assets">
        {Object.entries(item.assets ?? {}).map(([key, asset]) => {
          const url = assetUrl(catalogue, asset);
          return (
            <li key={key} className="jp-EOJLab-asset" data-asset-key={key}>
              <div className="jp-EOJLab-assetHead">
                <strong>{key}</strong>
                {asset.title && asset.title !== key ? (
                  <span>{asset.title}</span>
                ) : null}
                {asset.type ? (
                  <span className="jp-EOJLab-assetType">{asset.type}</span>
                ) : null}
                {asset.roles?.length ? (
                  <span className="jp-EOJLab-assetRoles">
                    {asset.roles.join(', ')}
                  </span>
                ) : null}
              </div>
              <div className="jp-EOJLab-assetHref" title={asset.href}>
                {asset.href}
              </div>
              <div className="jp-EOJLab-assetActions">
                {url && (
                  <a
                    className="jp-EOJLab-assetOpen"
                    href={url}
                    target="_blank"
                    rel="noopener noreferrer"
                  >
                    <launchIcon.react tag="span" className="jp-EOJLab-icon" />
                    {trans.__('Open')}
                  </a>
                )}
                <button
                  type="button"
                  className="jp-EOJLab-assetCopy"
                  aria-label={trans.__('Copy the address of %1', key)}
                  title={trans.__('Copy the address of %1', key)}
                  onClick={() => Clipboard.copyToSystem(asset.href)}
                >
                  <copyIcon.react tag="span" className="jp-EOJLab-icon" />
                  {trans.__('Copy address')}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      <div className="jp-EOJLab-actions">
        <button
          type="button"
          className="jp-EOJLab-primary"
          onClick={() => props.onInsert(item)}
        >
          {trans.__('Insert in notebook')}
        </button>
        <button type="button" onClick={() => props.onZoom(item)}>
          {trans.__('Zoom to')}
        </button>
      </div>
    </div>
  );
}
