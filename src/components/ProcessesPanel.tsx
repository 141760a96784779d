import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import {
  baseType,
  ComplexSource,
  crsShortName,
  FieldValue,
  ProcessesModel
} from '../models/processes';
import {
  IEOMap,
  IItem,
  IJob,
  IProcessInput,
  IProcessSummary,
  SnippetLanguage
} from '../tokens';

type BBox = [number, number, number, number];

// Example values shown as placeholders: not words, nothing to translate.
const EXAMPLE_DATETIME = '2024-05-01T10:30:00Z';
const EXAMPLE_URL = 'https://…';
const EXAMPLE_GEOJSON = '{"type": "Polygon", "coordinates": …}';

export interface IProcessesPanelProps {
  model: ProcessesModel;
  map: IEOMap | null;
  trans: TranslationBundle;
  /** Search results whose assets can feed complex inputs. */
  results: () => IItem[];
  /** Put the code of the current execution into the active notebook. */
  onInsertCode: () => void;
  onCopyCode: (language: SnippetLanguage) => void;
  onShowJob: (job: IJob) => void;
}

/** The Processes section: service, processes, the generated form. */
export function ProcessesPanel(props: IProcessesPanelProps): JSX.Element {
  const { model, trans } = props;
  const services = model.services;
  return (
    <div className="jp-EOJLab-processes">
      {services.length > 1 ? (
        <label className="jp-EOJLab-field">
          <span>{trans.__('Service')}</span>
          <select
            aria-label={trans.__('Processing service')}
            value={model.service?.id ?? ''}
            onChange={e => void model.setService(e.target.value || null)}
          >
            <option value="">{trans.__('Choose a service…')}</option>
            {services.map(s => (
              <option key={s.id} value={s.id}>
                {s.title}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {model.service?.protocol === 'sandbox' ? <Sandbox {...props} /> : null}
      {model.error ? (
        <p className="jp-EOJLab-error" role="alert">
          {model.error}
        </p>
      ) : null}
      {model.process ? (
        <ProcessView {...props} />
      ) : model.service ? (
        <ProcessList {...props} />
      ) : null}
    </div>
  );
}

function Sandbox(props: IProcessesPanelProps): JSX.Element {
  const { model, trans } = props;
  const sandbox = model.sandbox;
  return (
    <div className="jp-EOJLab-sandbox">
      <div className="jp-EOJLab-sandboxBar">
        <span className="jp-EOJLab-sandboxDir" title={sandbox?.dir ?? ''}>
          {sandbox?.dir
            ? trans.__('Processes from %1', sandbox.dir)
            : trans.__('Local PyWPS sandbox')}
        </span>
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-sandboxReload"
          disabled={model.busy !== null}
          title={trans.__(
            'Restart the sandbox: new and changed process files are loaded'
          )}
          onClick={() => void model.reloadSandbox()}
        >
          {model.busy === 'reload'
            ? trans.__('Reloading…')
            : trans.__('Reload')}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-sandboxLogToggle"
          aria-pressed={model.log !== null}
          onClick={() => void model.toggleLog()}
        >
          {model.log !== null ? trans.__('Hide log') : trans.__('Log')}
        </button>
      </div>
      {sandbox?.errors.length ? (
        <ul className="jp-EOJLab-sandboxErrors" role="alert">
          {sandbox.errors.map(error => (
            <li key={`${error.file}:${error.line}`}>
              <code>
                {error.file}
                {error.line ? `:${error.line}` : ''}
              </code>{' '}
              {error.message}
            </li>
          ))}
        </ul>
      ) : null}
      {model.log !== null ? (
        <div className="jp-EOJLab-sandboxLog">
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void model.refreshLog()}
          >
            {trans.__('Refresh log')}
          </button>
          <pre aria-label={trans.__('Sandbox log')}>
            {model.log || trans.__('(the log is empty)')}
          </pre>
        </div>
      ) : null}
    </div>
  );
}

function ProcessList(props: IProcessesPanelProps): JSX.Element {
  const { model, trans } = props;
  const processes = model.filtered;
  return (
    <div className="jp-EOJLab-processList">
      <input
        type="search"
        className="jp-EOJLab-processFilter"
        placeholder={trans.__('Filter processes')}
        aria-label={trans.__('Filter processes')}
        value={model.filter}
        onChange={e => model.setFilter(e.target.value)}
      />
      {model.busy === 'processes' ? (
        <p className="jp-EOJLab-empty">{trans.__('Loading processes…')}</p>
      ) : processes.length === 0 ? (
        <p className="jp-EOJLab-empty">
          {model.processes.length
            ? trans.__('No process matches the filter.')
            : trans.__('This service offers no process.')}
        </p>
      ) : (
        <ul aria-label={trans.__('Processes')}>
          {processes.map(p => (
            <ProcessRow key={p.id} process={p} {...props} />
          ))}
        </ul>
      )}
    </div>
  );
}

function ProcessRow(
  props: IProcessesPanelProps & { process: IProcessSummary }
): JSX.Element {
  const { process, model, trans } = props;
  return (
    <li className="jp-EOJLab-process" data-process-id={process.id}>
      <button
        type="button"
        className="jp-EOJLab-processOpen"
        title={process.abstract || process.id}
        onClick={() => void model.selectProcess(process.id)}
      >
        <span className="jp-EOJLab-processTitle">
          {process.title || process.id}
        </span>
        <span className="jp-EOJLab-processId">{process.id}</span>
        {process.job_control.includes('async') ? (
          <span className="jp-EOJLab-badge">{trans.__('async')}</span>
        ) : null}
        {process.error ? (
          <span className="jp-EOJLab-processNote" title={process.error}>
            {trans.__('cannot be described')}
          </span>
        ) : null}
      </button>
    </li>
  );
}

function ProcessView(props: IProcessesPanelProps): JSX.Element {
  const { model, trans } = props;
  const process = model.process!;
  const canSync = process.job_control.includes('sync');
  const canAsync = process.job_control.includes('async');
  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    // The model's sentences are literals (see models/processes.ts), translated here.
    // eslint-disable-next-line jupyter/no-dynamic-translation
    void model.submit((msg, ...args) => trans.__(msg, ...args));
  };
  return (
    <form
      className="jp-EOJLab-processForm"
      onSubmit={onSubmit}
      noValidate
      data-process-id={process.id}
    >
      <div className="jp-EOJLab-processHeader">
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-back"
          onClick={() => model.closeProcess()}
          title={trans.__('Back to the processes')}
        >
          ←
        </button>
        <h3>{process.title || process.id}</h3>
      </div>
      <p className="jp-EOJLab-processMeta">
        <code>{process.id}</code>
        {process.version ? ` · ${trans.__('version %1', process.version)}` : ''}
      </p>
      {process.abstract ? (
        <p className="jp-EOJLab-abstract">{process.abstract}</p>
      ) : null}
      {process.inputs.length === 0 ? (
        <p className="jp-EOJLab-empty">
          {trans.__('This process has no input.')}
        </p>
      ) : (
        process.inputs.map(input => (
          <InputField key={input.id} input={input} {...props} />
        ))
      )}
      {process.outputs.length ? (
        <details className="jp-EOJLab-outputs">
          <summary>{trans.__('Outputs (%1)', process.outputs.length)}</summary>
          <ul>
            {process.outputs.map(o => (
              <li key={o.id}>
                <strong>{o.title || o.id}</strong>{' '}
                <span className="jp-EOJLab-processId">
                  {o.kind}
                  {o.formats.length
                    ? ` · ${o.formats.map(f => f.mime_type).join(', ')}`
                    : ''}
                </span>
                {o.abstract ? <div>{o.abstract}</div> : null}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      <fieldset className="jp-EOJLab-mode">
        <legend>{trans.__('Execution')}</legend>
        <label title={canAsync ? '' : trans.__('This process runs only sync')}>
          <input
            type="radio"
            name="eo-jlab-mode"
            value="async"
            disabled={!canAsync}
            checked={model.mode === 'async'}
            onChange={() => model.setMode('async')}
          />
          {trans.__('Async (follow it in Jobs)')}
        </label>
        <label title={canSync ? '' : trans.__('This process runs only async')}>
          <input
            type="radio"
            name="eo-jlab-mode"
            value="sync"
            disabled={!canSync}
            checked={model.mode === 'sync'}
            onChange={() => model.setMode('sync')}
          />
          {trans.__('Sync (wait for the result)')}
        </label>
      </fieldset>
      {Object.keys(model.errors).length ? (
        <p className="jp-EOJLab-error" role="alert">
          {trans.__('Some inputs need attention.')}
        </p>
      ) : null}
      <div className="jp-EOJLab-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-EOJLab-execute"
          disabled={model.busy !== null}
        >
          {model.busy === 'submit'
            ? trans.__('Submitting…')
            : trans.__('Execute')}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-insertCode"
          disabled={model.busy !== null}
          title={trans.__(
            'Insert code running this execution into the active notebook'
          )}
          onClick={props.onInsertCode}
        >
          {trans.__('Insert code')}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-copyCode"
          disabled={model.busy !== null}
          title={trans.__('Copy Python code running this execution')}
          onClick={() => props.onCopyCode('python')}
        >
          {trans.__('Copy code')}
        </button>
      </div>
      {model.lastJob ? (
        <p className="jp-EOJLab-submitted" role="status">
          {trans.__(
            'Job %1: %2.',
            model.lastJob.id.slice(0, 8),
            model.lastJob.status
          )}{' '}
          <button
            type="button"
            className="jp-EOJLab-link"
            onClick={() => props.onShowJob(model.lastJob!)}
          >
            {trans.__('Show in Jobs')}
          </button>
        </p>
      ) : null}
    </form>
  );
}

function InputField(
  props: IProcessesPanelProps & { input: IProcessInput }
): JSX.Element {
  const { input, model, trans } = props;
  const values = model.values[input.id] ?? [];
  const error = model.errors[input.id];
  const required = input.min_occurs > 0;
  const many = input.max_occurs === null || input.max_occurs > 1;
  const id = `eo-jlab-input-${React.useId()}`;
  return (
    <fieldset
      className="jp-EOJLab-input"
      data-input-id={input.id}
      data-kind={input.kind}
      aria-invalid={error ? true : undefined}
    >
      <legend>
        {input.title || input.id}
        {required ? (
          <span className="jp-EOJLab-required" title={trans.__('required')}>
            {' *'}
          </span>
        ) : null}
        <span className="jp-EOJLab-processId"> {input.id}</span>
      </legend>
      {input.abstract ? (
        <p className="jp-EOJLab-hint">{input.abstract}</p>
      ) : null}
      {values.map((value, index) => (
        <div className="jp-EOJLab-occurrence" key={index}>
          <ValueEditor
            {...props}
            id={index === 0 ? id : undefined}
            value={value}
            onChange={v => model.setValue(input.id, index, v)}
          />
          {many || !required ? (
            <button
              type="button"
              className="jp-mod-styled jp-EOJLab-remove"
              title={trans.__('Remove this value')}
              aria-label={trans.__('Remove this value of %1', input.id)}
              onClick={() => model.removeValue(input.id, index)}
            >
              −
            </button>
          ) : null}
        </div>
      ))}
      {model.canAdd(input) && (many || values.length === 0) ? (
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-add"
          onClick={() => model.addValue(input.id)}
        >
          {values.length ? trans.__('Add a value') : trans.__('Give a value')}
        </button>
      ) : null}
      {error ? (
        <p className="jp-EOJLab-fieldError" role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

interface IEditorProps extends IProcessesPanelProps {
  input: IProcessInput;
  value: FieldValue;
  id?: string;
  onChange: (value: FieldValue) => void;
}

function ValueEditor(props: IEditorProps): JSX.Element {
  switch (props.value.kind) {
    case 'boolean':
      return (
        <label className="jp-EOJLab-check">
          <input
            id={props.id}
            type="checkbox"
            checked={props.value.checked}
            onChange={e =>
              props.onChange({ kind: 'boolean', checked: e.target.checked })
            }
          />
          {props.input.title || props.input.id}
        </label>
      );
    case 'literal':
      return <LiteralEditor {...props} />;
    case 'bbox':
      return <BBoxEditor {...props} />;
    case 'complex':
      return <ComplexEditor {...props} />;
  }
}

function LiteralEditor(props: IEditorProps): JSX.Element {
  const { input, trans } = props;
  const text = (props.value as { text: string }).text;
  const set = (t: string) => props.onChange({ kind: 'literal', text: t });
  const label = input.title || input.id;
  if (input.allowed_values.length) {
    return (
      <select
        id={props.id}
        aria-label={label}
        value={text}
        onChange={e => set(e.target.value)}
      >
        {input.min_occurs === 0 || !text ? (
          <option value="">{trans.__('Choose…')}</option>
        ) : null}
        {input.allowed_values.map(v => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  }
  const type = baseType(input.data_type);
  const range = input.ranges.length === 1 ? input.ranges[0] : null;
  const numeric = type === 'integer' || type === 'number';
  return (
    <input
      id={props.id}
      aria-label={label}
      type={numeric ? 'number' : type === 'date' ? 'date' : 'text'}
      inputMode={numeric ? 'decimal' : undefined}
      min={
        numeric && range?.min !== null ? String(range?.min ?? '') : undefined
      }
      max={
        numeric && range?.max !== null ? String(range?.max ?? '') : undefined
      }
      step={
        numeric
          ? String(range?.step ?? (type === 'integer' ? 1 : 'any'))
          : undefined
      }
      placeholder={
        type === 'datetime'
          ? EXAMPLE_DATETIME
          : range
            ? `${range.min ?? ''} … ${range.max ?? ''}`
            : (input.data_type ?? '')
      }
      value={text}
      onChange={e => set(e.target.value)}
    />
  );
}

function BBoxEditor(props: IEditorProps): JSX.Element {
  const { input, trans, map } = props;
  const value = props.value as { kind: 'bbox'; bbox: BBox | null; crs: string };
  const [drawing, setDrawing] = React.useState(false);
  const bbox = value.bbox;
  React.useEffect(() => {
    map?.showBox(bbox);
  }, [bbox?.join(',')]);
  React.useEffect(() => () => map?.showBox(null), []);
  const edges = [
    trans.__('West'),
    trans.__('South'),
    trans.__('East'),
    trans.__('North')
  ];
  const setEdge = (i: number, text: string) => {
    const next = [...(bbox ?? [NaN, NaN, NaN, NaN])] as BBox;
    next[i] = text === '' ? NaN : Number(text);
    props.onChange({ ...value, bbox: next });
  };
  return (
    <div className="jp-EOJLab-bbox">
      <div className="jp-EOJLab-bboxEdges">
        {edges.map((edge, i) => (
          <label key={edge}>
            <span>{edge}</span>
            <input
              id={i === 0 ? props.id : undefined}
              type="number"
              step="any"
              aria-label={`${input.title || input.id}: ${edge}`}
              value={bbox && Number.isFinite(bbox[i]) ? String(bbox[i]) : ''}
              onChange={e => setEdge(i, e.target.value)}
            />
          </label>
        ))}
      </div>
      <div className="jp-EOJLab-bboxActions">
        <button
          type="button"
          className="jp-mod-styled jp-EOJLab-drawBox"
          disabled={!map}
          aria-pressed={drawing}
          onClick={async () => {
            if (!map) {
              return;
            }
            setDrawing(true);
            const drawn = await map.drawBox();
            setDrawing(false);
            if (drawn) {
              props.onChange({ ...value, bbox: drawn });
            }
          }}
        >
          {drawing
            ? trans.__('Drag a box on the map…')
            : trans.__('Draw on map')}
        </button>
        {input.crs.length > 1 ? (
          <select
            aria-label={trans.__('Coordinate reference system')}
            title={value.crs}
            value={value.crs}
            onChange={e => props.onChange({ ...value, crs: e.target.value })}
          >
            {input.crs.map(crs => (
              <option key={crs} value={crs} title={crs}>
                {crsShortName(crs)}
              </option>
            ))}
          </select>
        ) : null}
      </div>
    </div>
  );
}

function ComplexEditor(props: IEditorProps): JSX.Element {
  const { input, trans } = props;
  const value = props.value as Extract<FieldValue, { kind: 'complex' }>;
  const set = (patch: Partial<typeof value>) =>
    props.onChange({ ...value, ...patch });
  const sources: [ComplexSource, string][] = [
    ['url', trans.__('URL')],
    ['file', trans.__('Workspace file')],
    ['asset', trans.__('Search result asset')],
    ['inline', trans.__('Inline text')]
  ];
  const assets: { label: string; href: string; type: string }[] = [];
  for (const item of props.results()) {
    for (const [key, asset] of Object.entries(item.assets)) {
      if (/^https?:/.test(asset.href)) {
        assets.push({
          label: `${item.properties.title ?? item.id} · ${asset.title ?? key}`,
          href: asset.href,
          type: asset.type ?? ''
        });
      }
    }
  }
  return (
    <div className="jp-EOJLab-complex">
      <div className="jp-EOJLab-complexSource">
        <select
          aria-label={trans.__('Source of %1', input.title || input.id)}
          value={value.source}
          onChange={e => set({ source: e.target.value as ComplexSource })}
        >
          {sources.map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
        {input.formats.length > 1 ? (
          <select
            aria-label={trans.__('Format')}
            value={value.mimeType}
            onChange={e => set({ mimeType: e.target.value })}
          >
            {input.formats.map(f => (
              <option key={f.mime_type} value={f.mime_type}>
                {f.mime_type}
              </option>
            ))}
          </select>
        ) : input.formats.length === 1 ? (
          <span className="jp-EOJLab-processId">
            {input.formats[0].mime_type}
          </span>
        ) : null}
      </div>
      {value.source === 'url' ? (
        <input
          id={props.id}
          type="url"
          aria-label={input.title || input.id}
          placeholder={EXAMPLE_URL}
          value={value.href}
          onChange={e => set({ href: e.target.value })}
        />
      ) : value.source === 'file' ? (
        <input
          id={props.id}
          type="text"
          aria-label={trans.__('Workspace path of %1', input.title || input.id)}
          placeholder={trans.__('path/in/workspace.geojson')}
          value={value.path}
          onChange={e => set({ path: e.target.value })}
        />
      ) : value.source === 'asset' ? (
        assets.length ? (
          <select
            id={props.id}
            aria-label={trans.__('Asset for %1', input.title || input.id)}
            value={value.href}
            onChange={e => {
              const asset = assets.find(a => a.href === e.target.value);
              set({
                href: e.target.value,
                mimeType:
                  asset?.type &&
                  input.formats.some(f => f.mime_type === asset.type)
                    ? asset.type
                    : value.mimeType
              });
            }}
          >
            <option value="">{trans.__('Choose an asset…')}</option>
            {assets.map(a => (
              <option key={a.href} value={a.href}>
                {a.label}
              </option>
            ))}
          </select>
        ) : (
          <p className="jp-EOJLab-hint">
            {trans.__(
              'Search a catalogue first: the assets of its results are offered here.'
            )}
          </p>
        )
      ) : (
        <textarea
          id={props.id}
          rows={4}
          aria-label={input.title || input.id}
          placeholder={/json/.test(value.mimeType) ? EXAMPLE_GEOJSON : ''}
          value={value.text}
          onChange={e => set({ text: e.target.value })}
        />
      )}
    </div>
  );
}
