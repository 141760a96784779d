import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import { jobResultUrl } from '../api';
import {
  hasPreview,
  isFinal,
  JOB_FILTERS,
  JobFilter,
  JobPreviews,
  JobsModel,
  previewKind,
  statusLabel
} from '../models/jobs';
import { IExchange, IJob, IJobResult } from '../tokens';

export interface IJobsPanelProps {
  model: JobsModel;
  previews: JobPreviews;
  trans: TranslationBundle;
  /** Open the raw exchange of a job (a dialog). */
  onExchange: (job: IJob) => void;
  /** Copy code that reproduces a job; rejects with a sentence on failure. */
  onCopyCode: (job: IJob) => Promise<void>;
  /** A job to bring into view with its details open; a new nonce asks again. */
  reveal?: { id: string; nonce: number } | null;
}

/** The Jobs section: a status filter and the jobs, newest first, kept live. */
export function JobsPanel(props: IJobsPanelProps): JSX.Element {
  const { model, trans, reveal } = props;
  const [expanded, setExpanded] = React.useState<ReadonlySet<string>>(
    () => new Set()
  );
  const listRef = React.useRef<HTMLUListElement>(null);
  const now = useNow(model.active);
  const jobs = model.filtered;
  const counts = model.counts;

  const toggle = (id: string): void =>
    setExpanded(current => {
      const next = new Set(current);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });

  React.useEffect(() => {
    if (reveal) {
      setExpanded(current => new Set(current).add(reveal.id));
    }
  }, [reveal?.id, reveal?.nonce]);

  // Once per reveal request, when its row is listed and open: scroll to it, focus it.
  const scrolled = React.useRef<number | null>(null);
  React.useEffect(() => {
    if (
      !reveal ||
      scrolled.current === reveal.nonce ||
      !expanded.has(reveal.id) ||
      !listRef.current
    ) {
      return;
    }
    const row = Array.from(
      listRef.current.querySelectorAll<HTMLElement>('[data-job-id]')
    ).find(element => element.getAttribute('data-job-id') === reveal.id);
    if (!row) {
      return; // not listed yet: again on a later render
    }
    scrolled.current = reveal.nonce;
    row.scrollIntoView?.({ block: 'nearest' });
    row.querySelector<HTMLElement>('.jp-EOJLab-jobDetails')?.focus();
  });

  return (
    <div className="jp-EOJLab-jobs">
      <div className="jp-EOJLab-jobsBar">
        <label>
          <span>{trans.__('Show')}</span>
          <select
            className="jp-EOJLab-jobFilter"
            value={model.filter}
            aria-label={trans.__('Show jobs by status')}
            onChange={e => {
              model.filter = e.target.value as JobFilter;
            }}
          >
            {JOB_FILTERS.map(filter => (
              <option key={filter} value={filter}>
                {trans.__(
                  '%1 (%2)',
                  filterLabel(filter, trans),
                  counts[filter]
                )}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="jp-EOJLab-jobsRefresh jp-EOJLab-jobButton"
          title={trans.__('Reload the job list from the server')}
          aria-label={trans.__('Reload the job list')}
          disabled={model.loading}
          onClick={() => void model.refresh()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      {model.error && (
        <p className="jp-EOJLab-error" role="alert">
          {model.error}
        </p>
      )}
      {model.jobs.length === 0 ? (
        <p className="jp-EOJLab-empty">
          {model.loading && !model.loaded
            ? trans.__('Loading…')
            : trans.__(
                'No jobs yet. Jobs submitted to processing services are listed here.'
              )}
        </p>
      ) : jobs.length === 0 ? (
        <p className="jp-EOJLab-empty">{trans.__('No job has this status.')}</p>
      ) : null}
      <ul
        ref={listRef}
        className="jp-EOJLab-jobList"
        aria-label={trans.__('Jobs')}
      >
        {jobs.map(job => (
          <JobRow
            key={job.id}
            {...props}
            job={job}
            now={now}
            expanded={expanded.has(job.id)}
            onToggle={() => toggle(job.id)}
          />
        ))}
      </ul>
    </div>
  );
}

/** The current time, ticking every second while `active` (and only then). */
function useNow(active: boolean): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    if (!active) {
      return;
    }
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return active ? now : Date.now();
}

function filterLabel(filter: JobFilter, trans: TranslationBundle): string {
  if (filter === 'all') {
    return trans.__('All');
  }
  if (filter === 'active') {
    return trans.__('Unfinished');
  }
  return statusLabel(filter, trans);
}

/** "42 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration(ms: number, trans: TranslationBundle): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) {
    return trans.__('%1 s', seconds);
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return trans.__('%1 min %2 s', minutes, pad(seconds % 60));
  }
  return trans.__('%1 h %2 min', Math.floor(minutes / 60), pad(minutes % 60));
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A time of today as its time, an older one with its date. */
export function formatTime(iso: string, now = Date.now()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  return date.toDateString() === new Date(now).toDateString()
    ? date.toLocaleTimeString()
    : date.toLocaleString();
}

/** How long a job ran (or runs, until `now`). */
export function elapsed(job: IJob, now: number): number | null {
  const start = Date.parse(job.created);
  if (Number.isNaN(start)) {
    return null;
  }
  const end = isFinal(job.status)
    ? Date.parse(job.finished ?? job.updated)
    : now;
  return Number.isNaN(end) ? null : Math.max(0, end - start);
}

function JobRow(
  props: IJobsPanelProps & {
    job: IJob;
    now: number;
    expanded: boolean;
    onToggle: () => void;
  }
): JSX.Element {
  const { job, trans, model, previews, now, expanded } = props;
  const detailsId = React.useId();
  const unfinished = !isFinal(job.status);
  const duration = elapsed(job, now);
  const shown = previews.isShown(job.id);
  const busy = previews.preview(job.id)?.busy ?? false;
  const indeterminate = job.progress === null || job.progress === undefined;
  return (
    <li
      className={`jp-EOJLab-job${expanded ? ' jp-mod-expanded' : ''}`}
      data-job-id={job.id}
      data-status={job.status}
    >
      <div className="jp-EOJLab-jobHead">
        <span className="jp-EOJLab-jobTitle" title={job.process}>
          {job.process}
        </span>
        <span
          className={`jp-EOJLab-jobStatus jp-EOJLab-jobStatus-${job.status}`}
        >
          {statusLabel(job.status, trans)}
        </span>
      </div>
      <div className="jp-EOJLab-jobMeta">
        <span className="jp-EOJLab-jobService" title={trans.__('Service')}>
          {job.service}
        </span>
        <time
          dateTime={job.created}
          title={trans.__('Submitted %1', job.created)}
        >
          {formatTime(job.created, now)}
        </time>
        {duration !== null && (
          <span
            className="jp-EOJLab-jobElapsed"
            title={unfinished ? trans.__('Running for') : trans.__('Took')}
          >
            {formatDuration(duration, trans)}
          </span>
        )}
      </div>
      {unfinished && (
        <div className="jp-EOJLab-jobProgress">
          {indeterminate ? (
            <progress aria-label={trans.__('Progress unknown')} />
          ) : (
            <progress
              max={100}
              value={job.progress!}
              aria-label={trans.__('Progress')}
            />
          )}
          {!indeterminate && <span>{trans.__('%1 %', job.progress!)}</span>}
        </div>
      )}
      <div
        className="jp-EOJLab-jobMessage"
        role="status"
        aria-live="polite"
        title={job.message}
      >
        {job.message}
      </div>
      {job.status === 'failed' && job.error && job.error !== job.message && (
        <div className="jp-EOJLab-jobError">{job.error}</div>
      )}
      <div className="jp-EOJLab-jobActions">
        <button
          type="button"
          className="jp-EOJLab-jobDetails jp-EOJLab-jobButton"
          aria-expanded={expanded}
          aria-controls={detailsId}
          title={trans.__('Inputs, results and the raw exchange')}
          onClick={props.onToggle}
        >
          {expanded ? trans.__('Hide details') : trans.__('Details')}
        </button>
        {(shown || hasPreview(job)) && (
          <button
            type="button"
            className="jp-EOJLab-jobPreview jp-EOJLab-jobButton"
            aria-pressed={shown}
            title={
              shown
                ? trans.__('Remove the results of this job from the map')
                : trans.__('Show the results of this job on the map')
            }
            onClick={() => void previews.toggle(job)}
          >
            {busy
              ? trans.__('Loading…')
              : shown
                ? trans.__('Hide from map')
                : trans.__('Show on map')}
          </button>
        )}
        {unfinished && (
          <button
            type="button"
            className="jp-EOJLab-jobDismiss jp-EOJLab-jobButton"
            title={trans.__(
              'Dismiss this job (the service is asked to stop it)'
            )}
            aria-label={trans.__('Dismiss job %1', job.process)}
            onClick={() => void model.dismiss(job.id)}
          >
            {trans.__('Dismiss')}
          </button>
        )}
      </div>
      {expanded && <JobDetails {...props} id={detailsId} />}
    </li>
  );
}

function JobDetails(
  props: IJobsPanelProps & { job: IJob; id: string }
): JSX.Element {
  const { job, trans, previews } = props;
  const [copy, setCopy] = React.useState<{
    state: 'idle' | 'busy' | 'done' | 'error';
    message?: string;
  }>({ state: 'idle' });
  React.useEffect(() => {
    if (copy.state !== 'done') {
      return;
    }
    const timer = setTimeout(() => setCopy({ state: 'idle' }), 2000);
    return () => clearTimeout(timer);
  }, [copy.state]);
  const problems = previews.preview(job.id)?.problems ?? {};
  const inputs = compact(job.inputs);
  return (
    <div
      className="jp-EOJLab-jobDetailsBody"
      id={props.id}
      aria-label={trans.__('Job details')}
    >
      <table>
        <tbody>
          <tr>
            <th>{trans.__('Job')}</th>
            <td>{job.id}</td>
          </tr>
          {job.remote?.job_id && (
            <tr>
              <th>{trans.__('Remote job')}</th>
              <td>{job.remote.job_id}</td>
            </tr>
          )}
          {job.remote?.status_url && (
            <tr>
              <th>{trans.__('Status URL')}</th>
              <td>{job.remote.status_url}</td>
            </tr>
          )}
          {job.finished && (
            <tr>
              <th>{trans.__('Finished')}</th>
              <td>{job.finished}</td>
            </tr>
          )}
        </tbody>
      </table>
      {job.error && (
        <div className="jp-EOJLab-jobError" role="alert">
          {job.error}
        </div>
      )}
      <div className="jp-EOJLab-jobLabel">{trans.__('Inputs')}</div>
      <pre className="jp-EOJLab-jobInputs">{inputs}</pre>
      {(job.results ?? []).length > 0 && (
        <>
          <div className="jp-EOJLab-jobLabel">{trans.__('Results')}</div>
          <ul className="jp-EOJLab-jobResults">
            {job.results.map(result => (
              <ResultRow
                key={result.id}
                job={job}
                result={result}
                trans={trans}
                problem={problems[result.id]}
              />
            ))}
          </ul>
        </>
      )}
      <div className="jp-EOJLab-jobActions">
        <button
          type="button"
          className="jp-EOJLab-jobExchange jp-EOJLab-jobButton"
          title={trans.__(
            'The raw requests and responses between the server and the service'
          )}
          onClick={() => props.onExchange(job)}
        >
          {trans.__('Exchange')}
        </button>
        <button
          type="button"
          className="jp-EOJLab-jobCopy jp-EOJLab-jobButton"
          title={trans.__('Copy Python code that reproduces this job')}
          disabled={copy.state === 'busy'}
          onClick={() => {
            setCopy({ state: 'busy' });
            props.onCopyCode(job).then(
              () => setCopy({ state: 'done' }),
              error =>
                setCopy({
                  state: 'error',
                  message:
                    error instanceof Error ? error.message : String(error)
                })
            );
          }}
        >
          {copy.state === 'done'
            ? trans.__('Copied')
            : trans.__('Copy as code')}
        </button>
      </div>
      {copy.state === 'error' && (
        <p className="jp-EOJLab-error" role="alert">
          {copy.message}
        </p>
      )}
    </div>
  );
}

function ResultRow(props: {
  job: IJob;
  result: IJobResult;
  trans: TranslationBundle;
  problem?: { kind: string; message?: string };
}): JSX.Element {
  const { job, result, trans, problem } = props;
  const inline = result.value !== undefined && result.value !== null;
  const kind = previewKind(job, result);
  return (
    <li className="jp-EOJLab-jobResult" data-result-id={result.id}>
      <span className="jp-EOJLab-jobResultId">{result.id}</span>
      {result.mime_type && (
        <span className="jp-EOJLab-jobResultType">{result.mime_type}</span>
      )}
      {job.status === 'successful' && (inline || result.href) && (
        <a
          href={jobResultUrl(job.id, result.id)}
          target="_blank"
          rel="noopener noreferrer"
          title={result.href ?? undefined}
        >
          {trans.__('Open')}
        </a>
      )}
      {inline && (
        <pre className="jp-EOJLab-jobValue">{truncate(valueText(result))}</pre>
      )}
      {(kind === 'no-extent' || problem?.kind === 'no-extent') && (
        <div className="jp-EOJLab-jobNote">
          {trans.__(
            'Not shown on the map: no extent is known (a result "extent" or "bbox", or a bbox input).'
          )}
        </div>
      )}
      {problem?.kind === 'not-geojson' && (
        <div className="jp-EOJLab-jobNote">
          {trans.__('Not shown on the map: it is not GeoJSON.')}
        </div>
      )}
      {problem?.kind === 'error' && (
        <div className="jp-EOJLab-jobNote jp-EOJLab-jobError">
          {trans.__('Not shown on the map: %1', problem.message ?? '')}
        </div>
      )}
    </li>
  );
}

function valueText(result: IJobResult): string {
  return typeof result.value === 'string'
    ? result.value
    : compact(result.value);
}

function compact(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function truncate(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/* ---- The raw exchange ---- */

/** Pretty-print a body: JSON indented, XML indented, anything else as it came. */
export function prettyBody(body: string | null | undefined): string {
  if (body === null || body === undefined) {
    return '';
  }
  if (body.length > 2_000_000) {
    return body;
  }
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      return body;
    }
  }
  if (trimmed.startsWith('<')) {
    return prettyXml(trimmed) ?? body;
  }
  return body;
}

/** XML indented by two spaces, or null when it does not parse. */
export function prettyXml(text: string): string | null {
  let doc: Document;
  try {
    doc = new DOMParser().parseFromString(text, 'application/xml');
  } catch {
    return null;
  }
  if (doc.getElementsByTagName('parsererror').length) {
    return null;
  }
  const lines: string[] = [];
  const declaration = /^<\?xml[^>]*\?>/.exec(text);
  if (declaration) {
    lines.push(declaration[0]);
  }
  const walk = (node: Node, depth: number): void => {
    const indent = '  '.repeat(depth);
    switch (node.nodeType) {
      case Node.ELEMENT_NODE: {
        const element = node as Element;
        const attributes = Array.from(element.attributes)
          .map(a => ` ${a.name}="${escapeXml(a.value, true)}"`)
          .join('');
        const children = Array.from(element.childNodes).filter(
          child =>
            !(
              child.nodeType === Node.TEXT_NODE &&
              !(child.textContent ?? '').trim()
            )
        );
        const open = `${indent}<${element.tagName}${attributes}`;
        if (children.length === 0) {
          lines.push(`${open}/>`);
        } else if (
          children.length === 1 &&
          children[0].nodeType === Node.TEXT_NODE
        ) {
          lines.push(
            `${open}>${escapeXml((children[0].textContent ?? '').trim())}</${element.tagName}>`
          );
        } else {
          lines.push(`${open}>`);
          children.forEach(child => walk(child, depth + 1));
          lines.push(`${indent}</${element.tagName}>`);
        }
        break;
      }
      case Node.TEXT_NODE:
        lines.push(indent + escapeXml((node.textContent ?? '').trim()));
        break;
      case Node.CDATA_SECTION_NODE:
        lines.push(`${indent}<![CDATA[${node.textContent ?? ''}]]>`);
        break;
      case Node.COMMENT_NODE:
        lines.push(`${indent}<!--${node.textContent ?? ''}-->`);
        break;
      case Node.PROCESSING_INSTRUCTION_NODE: {
        const pi = node as ProcessingInstruction;
        lines.push(`${indent}<?${pi.target} ${pi.data}?>`);
        break;
      }
      default:
        break;
    }
  };
  Array.from(doc.childNodes).forEach(child => walk(child, 0));
  return lines.join('\n');
}

function escapeXml(text: string, attribute = false): string {
  const escaped = text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
  return attribute ? escaped.replace(/"/g, '&quot;') : escaped;
}

/** The raw requests and responses of a job, loaded once. */
export function ExchangeView(props: {
  load: () => Promise<IExchange[]>;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  const [state, setState] = React.useState<
    | { kind: 'loading' }
    | { kind: 'error'; message: string }
    | { kind: 'done'; exchange: IExchange[] }
  >({ kind: 'loading' });
  React.useEffect(() => {
    let live = true;
    props.load().then(
      exchange => live && setState({ kind: 'done', exchange }),
      error =>
        live &&
        setState({
          kind: 'error',
          message: error instanceof Error ? error.message : String(error)
        })
    );
    return () => {
      live = false;
    };
  }, []);
  if (state.kind === 'loading') {
    return <p className="jp-EOJLab-empty">{trans.__('Loading…')}</p>;
  }
  if (state.kind === 'error') {
    return (
      <p className="jp-EOJLab-error" role="alert">
        {state.message}
      </p>
    );
  }
  if (state.exchange.length === 0) {
    return (
      <p className="jp-EOJLab-empty">
        {trans.__('No request was recorded for this job.')}
      </p>
    );
  }
  return (
    <ol className="jp-EOJLab-jobExchangeList">
      {state.exchange.map((entry, index) => (
        <li key={index} className="jp-EOJLab-jobExchangeEntry">
          <div className="jp-EOJLab-jobExchangeHead">
            <strong>{entry.method}</strong>{' '}
            <span className="jp-EOJLab-jobExchangeUrl">{entry.url}</span>{' '}
            <span
              className="jp-EOJLab-jobExchangeStatus"
              data-ok={
                entry.status !== null && entry.status < 400 ? 'true' : 'false'
              }
            >
              {entry.status === null
                ? trans.__('no answer')
                : trans.__('HTTP %1', entry.status)}
            </span>
          </div>
          {entry.request_body !== null && entry.request_body !== undefined && (
            <>
              <div className="jp-EOJLab-jobLabel">{trans.__('Request')}</div>
              <pre className="jp-EOJLab-jobExchangeBody">
                {prettyBody(entry.request_body)}
              </pre>
            </>
          )}
          {entry.response_body !== null &&
            entry.response_body !== undefined && (
              <>
                <div className="jp-EOJLab-jobLabel">{trans.__('Response')}</div>
                <pre className="jp-EOJLab-jobExchangeBody">
                  {prettyBody(entry.response_body)}
                </pre>
              </>
            )}
        </li>
      ))}
    </ol>
  );
}
