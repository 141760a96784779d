/**
 * The Processes section's state: the chosen service, its processes, the chosen process's
 * description, the form generated from it (one list of values per input, so inputs with
 * maxOccurs > 1 can hold several), validation, and submission.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  describeProcess,
  executeProcess,
  getProcesses,
  getProcessSnippet,
  getSandboxLog,
  reloadSandbox,
  startSandbox
} from '../api';
import {
  ExecutionValue,
  IEndpoint,
  IExecutionRequest,
  IJob,
  IProcessDescription,
  IProcessInput,
  IProcessSummary,
  ISandboxStatus,
  ISnippet,
  SnippetLanguage
} from '../tokens';

type BBox = [number, number, number, number];

/** Where a complex input's data comes from. */
export type ComplexSource = 'url' | 'file' | 'asset' | 'inline';

/** The value of one occurrence of an input, as the form edits it. */
export type FieldValue =
  | { kind: 'literal'; text: string }
  | { kind: 'boolean'; checked: boolean }
  | { kind: 'bbox'; bbox: BBox | null; crs: string }
  | {
      kind: 'complex';
      source: ComplexSource;
      href: string;
      path: string;
      text: string;
      mimeType: string;
    };

/** Reads a workspace file for a complex input (the plugin wires the contents manager). */
export type FileReader = (
  path: string
) => Promise<{ value: string; mimeType: string | null }>;

/** Literal data types, by family (WPS uses xs: names, OGC API JSON Schema names). */
const INTEGER_TYPES = [
  'integer',
  'int',
  'long',
  'short',
  'nonnegativeinteger',
  'positiveinteger',
  'unsignedint'
];
const NUMBER_TYPES = ['float', 'double', 'decimal', 'number'];
const MAX_INLINE_BYTES = 10_000_000;

export function baseType(dataType: string | null | undefined): string {
  const name = (dataType ?? 'string').toLowerCase();
  // "xs:integer", "http://www.w3.org/TR/xmlschema-2/#integer", "integer"
  const tail = name.split(/[#:/]/).filter(Boolean).pop() ?? 'string';
  if (INTEGER_TYPES.includes(tail)) {
    return 'integer';
  }
  if (NUMBER_TYPES.includes(tail)) {
    return 'number';
  }
  if (tail === 'boolean' || tail === 'bool') {
    return 'boolean';
  }
  if (tail === 'date') {
    return 'date';
  }
  if (tail === 'datetime') {
    return 'datetime';
  }
  return 'string';
}

/** A blank value for `input`, prefilled with its default when it has one. */
export function initialValue(input: IProcessInput): FieldValue {
  if (input.kind === 'bbox') {
    const def = input.default as { bbox?: BBox } | BBox | undefined;
    const bbox = Array.isArray(def)
      ? (def as BBox)
      : def && Array.isArray(def.bbox)
        ? def.bbox
        : null;
    return { kind: 'bbox', bbox, crs: input.crs[0] ?? '' };
  }
  if (input.kind === 'complex') {
    const format =
      input.formats.find(f => f.default) ?? input.formats[0] ?? null;
    return {
      kind: 'complex',
      source: 'url',
      href: '',
      path: '',
      text: '',
      mimeType: format?.mime_type ?? ''
    };
  }
  if (baseType(input.data_type) === 'boolean') {
    const def = input.default;
    return {
      kind: 'boolean',
      checked: def === true || String(def).toLowerCase() === 'true'
    };
  }
  const def = input.default;
  return {
    kind: 'literal',
    text: def === undefined || def === null ? '' : String(def)
  };
}

function isBlank(value: FieldValue): boolean {
  switch (value.kind) {
    case 'literal':
      return value.text.trim() === '';
    case 'boolean':
      return false;
    case 'bbox':
      return value.bbox === null;
    case 'complex':
      return value.source === 'url' || value.source === 'asset'
        ? value.href.trim() === ''
        : value.source === 'file'
          ? value.path.trim() === ''
          : value.text.trim() === '';
  }
}

function numeric(value: unknown): number | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Check one occurrence; returns a sentence, or null when it is fine. `t` translates.
 * Blank values are checked by the caller (required or not).
 */
export function checkValue(
  input: IProcessInput,
  value: FieldValue,
  t: (msg: string, ...args: any[]) => string
): string | null {
  if (value.kind === 'literal') {
    const text = value.text.trim();
    const type = baseType(input.data_type);
    let parsed: number | null = null;
    if (type === 'integer') {
      if (!/^[-+]?\d+$/.test(text)) {
        return t('Enter a whole number.');
      }
      parsed = Number(text);
    } else if (type === 'number') {
      parsed = numeric(text);
      if (parsed === null) {
        return t('Enter a number.');
      }
    } else if (type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(text)) {
      return t('Enter a date as YYYY-MM-DD.');
    } else if (type === 'datetime' && Number.isNaN(Date.parse(text))) {
      return t('Enter a date and time, e.g. 2024-05-01T10:30:00Z.');
    }
    if (input.allowed_values.length) {
      const allowed = input.allowed_values.map(v => String(v));
      if (!allowed.includes(text)) {
        return t('Choose one of: %1.', allowed.join(', '));
      }
    } else if (input.ranges.length && parsed !== null) {
      const inside = input.ranges.some(range => {
        const min = numeric(range.min);
        const max = numeric(range.max);
        return (
          (min === null || parsed! >= min) && (max === null || parsed! <= max)
        );
      });
      if (!inside) {
        return t(
          'Enter a value in %1.',
          input.ranges
            .map(r => `[${r.min ?? '−∞'}, ${r.max ?? '∞'}]`)
            .join(t(' or '))
        );
      }
    }
    return null;
  }
  if (value.kind === 'bbox') {
    const [w, s, e, n] = value.bbox!;
    if (![w, s, e, n].every(Number.isFinite)) {
      return t('The box needs four numbers.');
    }
    if (s >= n) {
      return t('The south edge must be below the north edge.');
    }
    if (w === e) {
      return t('The box has no width.');
    }
    return null;
  }
  if (value.kind === 'complex') {
    if (value.source === 'url' || value.source === 'asset') {
      try {
        const url = new URL(value.href.trim());
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          return t('Enter an http(s) URL.');
        }
      } catch {
        return t('Enter a full URL, e.g. https://example.org/data.tif.');
      }
    }
    if (
      value.source === 'inline' &&
      /json/.test(value.mimeType) &&
      value.text.trim()
    ) {
      try {
        JSON.parse(value.text);
      } catch {
        return t('This is not valid JSON.');
      }
    }
  }
  return null;
}

export class ProcessesModel {
  constructor(options: { fileReader?: FileReader } = {}) {
    this._fileReader = options.fileReader ?? null;
  }

  get changed(): ISignal<ProcessesModel, void> {
    return this._changed;
  }

  /** Emitted with each job submitted from the form. */
  get submitted(): ISignal<ProcessesModel, IJob> {
    return this._submitted;
  }

  get services(): IEndpoint[] {
    return this._services;
  }
  get service(): IEndpoint | null {
    return this._services.find(s => s.id === this._serviceId) ?? null;
  }
  get processes(): IProcessSummary[] {
    return this._processes;
  }
  get filter(): string {
    return this._filter;
  }
  /** The processes matching the filter (id, title or abstract). */
  get filtered(): IProcessSummary[] {
    const words = this._filter.toLowerCase().split(/\s+/).filter(Boolean);
    return this._processes.filter(p => {
      const text = `${p.id} ${p.title} ${p.abstract}`.toLowerCase();
      return words.every(w => text.includes(w));
    });
  }
  get sandbox(): ISandboxStatus | null {
    return this._sandbox;
  }
  get log(): string | null {
    return this._log;
  }
  get process(): IProcessDescription | null {
    return this._process;
  }
  get values(): Readonly<Record<string, FieldValue[]>> {
    return this._values;
  }
  get errors(): Readonly<Record<string, string>> {
    return this._errors;
  }
  get mode(): 'sync' | 'async' {
    return this._mode;
  }
  get busy(): string | null {
    return this._busy;
  }
  get error(): string | null {
    return this._error;
  }
  get lastJob(): IJob | null {
    return this._lastJob;
  }

  /** The configured processing services (from the config); keeps the choice if still there. */
  setServices(services: IEndpoint[]): void {
    const same =
      services.length === this._services.length &&
      services.every((s, i) => s.id === this._services[i]?.id);
    this._services = services;
    if (same) {
      return;
    }
    if (!services.some(s => s.id === this._serviceId)) {
      void this.setService(services.length === 1 ? services[0].id : null);
    } else {
      this._changed.emit();
    }
  }

  async setService(id: string | null): Promise<void> {
    this._serviceId = id;
    this._processes = [];
    this._process = null;
    this._sandbox = null;
    this._log = null;
    this._error = null;
    this._lastJob = null;
    this._changed.emit();
    if (id) {
      await this.loadProcesses();
    }
  }

  async loadProcesses(): Promise<void> {
    const service = this.service;
    if (!service) {
      return;
    }
    await this._run('processes', async () => {
      if (service.protocol === 'sandbox') {
        // Opening the sandbox starts it (a POST: no GET route has a side effect).
        const status = await startSandbox(service.id);
        if (this._serviceId === service.id) {
          this._sandbox = status;
        }
      }
      const { processes } = await getProcesses(service.id);
      if (this._serviceId === service.id) {
        this._processes = processes;
      }
    });
  }

  setFilter(filter: string): void {
    this._filter = filter;
    this._changed.emit();
  }

  /** Restart the sandbox: new and changed process files are picked up. */
  async reloadSandbox(): Promise<void> {
    const service = this.service;
    if (!service || service.protocol !== 'sandbox') {
      return;
    }
    const current = this._process?.id ?? null;
    await this._run('reload', async () => {
      const answer = await reloadSandbox(service.id);
      this._processes = answer.processes;
      this._sandbox = {
        ...(this._sandbox ?? { dir: '', running: true, processes: [] }),
        processes: answer.processes,
        errors: answer.errors,
        running: true
      };
      if (this._log !== null) {
        this._log = (await getSandboxLog(service.id)).log;
      }
    });
    if (current && this._processes.some(p => p.id === current)) {
      await this.selectProcess(current, true);
    } else if (current) {
      this._process = null;
      this._changed.emit();
    }
  }

  async toggleLog(): Promise<void> {
    const service = this.service;
    if (this._log !== null) {
      this._log = null;
      this._changed.emit();
      return;
    }
    if (!service) {
      return;
    }
    await this._run('log', async () => {
      this._log = (await getSandboxLog(service.id)).log;
    });
  }

  async refreshLog(): Promise<void> {
    const service = this.service;
    if (service && this._log !== null) {
      await this._run('log', async () => {
        this._log = (await getSandboxLog(service.id)).log;
      });
    }
  }

  /** Open a process: its description and a form with its defaults. */
  async selectProcess(id: string, keepValues = false): Promise<void> {
    const service = this.service;
    if (!service) {
      return;
    }
    await this._run('describe', async () => {
      const description = await describeProcess(service.id, id);
      if (this._serviceId !== service.id) {
        return;
      }
      const previous = keepValues ? this._values : {};
      this._process = description;
      this._values = {};
      for (const input of description.inputs) {
        const kept = previous[input.id];
        this._values[input.id] =
          kept && kept.length && kept[0].kind === initialValue(input).kind
            ? kept
            : input.min_occurs > 0 || input.default !== undefined
              ? [initialValue(input)]
              : [];
      }
      this._errors = {};
      this._lastJob = null;
      this._mode = description.job_control.includes('async') ? 'async' : 'sync';
      // A list may not know job control yet: the description says it.
      this._processes = this._processes.map(p =>
        p.id === id
          ? { ...p, job_control: description.job_control, error: undefined }
          : p
      );
    });
  }

  closeProcess(): void {
    this._process = null;
    this._errors = {};
    this._lastJob = null;
    this._changed.emit();
  }

  setMode(mode: 'sync' | 'async'): void {
    this._mode = mode;
    this._changed.emit();
  }

  setValue(inputId: string, index: number, value: FieldValue): void {
    const list = [...(this._values[inputId] ?? [])];
    list[index] = value;
    this._values = { ...this._values, [inputId]: list };
    if (this._errors[inputId]) {
      const errors = { ...this._errors };
      delete errors[inputId];
      this._errors = errors;
    }
    this._changed.emit();
  }

  canAdd(input: IProcessInput): boolean {
    const count = this._values[input.id]?.length ?? 0;
    return input.max_occurs === null || count < input.max_occurs;
  }

  addValue(inputId: string): void {
    const input = this._process?.inputs.find(i => i.id === inputId);
    if (!input || !this.canAdd(input)) {
      return;
    }
    this._values = {
      ...this._values,
      [inputId]: [...(this._values[inputId] ?? []), initialValue(input)]
    };
    this._changed.emit();
  }

  removeValue(inputId: string, index: number): void {
    const list = [...(this._values[inputId] ?? [])];
    list.splice(index, 1);
    this._values = { ...this._values, [inputId]: list };
    this._changed.emit();
  }

  /** Check every input; fills `errors` (input id -> sentence) and returns true when none. */
  validate(
    t: (msg: string, ...args: any[]) => string = (msg, ...args) =>
      args.reduce((s: string, a, i) => s.replace(`%${i + 1}`, String(a)), msg)
  ): boolean {
    const errors: Record<string, string> = {};
    for (const input of this._process?.inputs ?? []) {
      const values = (this._values[input.id] ?? []).filter(v => !isBlank(v));
      if (values.length < input.min_occurs) {
        errors[input.id] =
          input.min_occurs > 1
            ? t('Give at least %1 values.', input.min_occurs)
            : t('Required.');
        continue;
      }
      for (const value of values) {
        const problem = checkValue(input, value, t);
        if (problem) {
          errors[input.id] = problem;
          break;
        }
      }
    }
    this._errors = errors;
    this._changed.emit();
    return Object.keys(errors).length === 0;
  }

  /** The execution body for the form as it stands (workspace files read now). */
  async buildRequest(): Promise<IExecutionRequest> {
    const inputs: IExecutionRequest['inputs'] = {};
    for (const input of this._process?.inputs ?? []) {
      const values: ExecutionValue[] = [];
      for (const value of this._values[input.id] ?? []) {
        if (isBlank(value)) {
          continue;
        }
        values.push(await this._toExecution(input, value));
      }
      if (values.length) {
        inputs[input.id] =
          input.max_occurs === 1 && values.length === 1 ? values[0] : values;
      }
    }
    return { inputs, mode: this._mode };
  }

  /** Validate, then submit; resolves with the job, or null when the form has errors. */
  async submit(
    t?: (msg: string, ...args: any[]) => string
  ): Promise<IJob | null> {
    const service = this.service;
    const process = this._process;
    if (!service || !process || !this.validate(t)) {
      return null;
    }
    let job: IJob | null = null;
    await this._run('submit', async () => {
      const request = await this.buildRequest();
      job = await executeProcess(service.id, process.id, request);
      this._lastJob = job;
    });
    if (job) {
      this._submitted.emit(job);
    }
    return job;
  }

  /** The code reproducing this execution in `language`. */
  async snippet(
    language: SnippetLanguage,
    flavour: 'portable' | 'widgets' = 'portable'
  ): Promise<ISnippet | null> {
    const service = this.service;
    const process = this._process;
    if (!service || !process) {
      return null;
    }
    let snippet: ISnippet | null = null;
    await this._run('snippet', async () => {
      snippet = await getProcessSnippet(
        service.id,
        process.id,
        await this.buildRequest(),
        language,
        flavour
      );
    });
    return snippet;
  }

  private async _toExecution(
    input: IProcessInput,
    value: FieldValue
  ): Promise<ExecutionValue> {
    switch (value.kind) {
      case 'boolean':
        return value.checked;
      case 'bbox':
        return value.crs
          ? { bbox: value.bbox!, crs: value.crs }
          : { bbox: value.bbox! };
      case 'literal': {
        const type = baseType(input.data_type);
        const text = value.text.trim();
        return type === 'integer' || type === 'number' ? Number(text) : text;
      }
      case 'complex': {
        const mime = value.mimeType || undefined;
        if (value.source === 'url' || value.source === 'asset') {
          return mime
            ? { href: value.href.trim(), mime_type: mime }
            : { href: value.href.trim() };
        }
        if (value.source === 'inline') {
          return { value: parseInline(value.text, mime), mime_type: mime };
        }
        if (!this._fileReader) {
          throw new Error('Workspace files cannot be read here.');
        }
        const file = await this._fileReader(value.path.trim());
        if (file.value.length > MAX_INLINE_BYTES) {
          throw new Error(
            `${value.path} is too big to send inline (over 10 MB): publish it and give its URL.`
          );
        }
        const type = mime ?? file.mimeType ?? undefined;
        return { value: parseInline(file.value, type), mime_type: type };
      }
    }
  }

  private async _run(what: string, fn: () => Promise<void>): Promise<void> {
    this._busy = what;
    this._error = null;
    this._changed.emit();
    try {
      await fn();
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    } finally {
      this._busy = null;
      this._changed.emit();
    }
  }

  private _changed = new Signal<ProcessesModel, void>(this);
  private _submitted = new Signal<ProcessesModel, IJob>(this);
  private _fileReader: FileReader | null;
  private _services: IEndpoint[] = [];
  private _serviceId: string | null = null;
  private _processes: IProcessSummary[] = [];
  private _filter = '';
  private _sandbox: ISandboxStatus | null = null;
  private _log: string | null = null;
  private _process: IProcessDescription | null = null;
  private _values: Record<string, FieldValue[]> = {};
  private _errors: Record<string, string> = {};
  private _mode: 'sync' | 'async' = 'async';
  private _busy: string | null = null;
  private _error: string | null = null;
  private _lastJob: IJob | null = null;
}

/** JSON documents are sent as JSON (objects), everything else as text. */
function parseInline(text: string, mime: string | undefined): unknown {
  if (mime && /json/.test(mime)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * A CRS as people write it: "CRS84", "EPSG:4326" for the URN and URL forms of OGC and
 * EPSG codes (`urn:ogc:def:crs:EPSG::4326`, `http://www.opengis.net/def/crs/EPSG/0/4326`);
 * anything else unchanged.
 */
export function crsShortName(crs: string): string {
  const text = crs.trim();
  const urn = /^urn:ogc:def:crs:([^:]+):[^:]*:([^:]+)$/i.exec(text);
  const url =
    /^https?:\/\/www\.opengis\.net\/def\/crs\/([^/]+)\/[^/]*\/([^/]+)$/i.exec(
      text
    );
  const match = urn ?? url;
  if (!match) {
    return text;
  }
  const [, authority, code] = match;
  if (authority.toUpperCase() === 'OGC') {
    return code.toUpperCase();
  }
  return `${authority.toUpperCase()}:${code}`;
}
