import * as React from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import { parseNames } from '../models/shares';
import { IShareRecipients } from '../tokens';

/** What the "Share…" form holds (names as typed: comma or space separated). */
export interface IShareFormValues {
  path: string;
  users: string;
  groups: string;
  public: boolean;
  message: string;
}

/** Sentences per field; empty when valid. */
export type ShareFormErrors = Partial<
  Record<'path' | 'recipients' | 'message', string>
>;

/** The server refuses longer messages (DESIGN.md: text of at most 2000 characters). */
export const MAX_SHARE_MESSAGE = 2000;

/** Names may not hold `/`, `\\`, quotes, `<>` or control characters. */
function isName(name: string): boolean {
  return (
    !/[\s/\\'"<>]/.test(name) &&
    Array.from(name).every(c => c.charCodeAt(0) >= 32)
  );
}

/** The form's problems: a path, and at least one user, one group or public. */
export function validateShareForm(
  values: IShareFormValues,
  trans: TranslationBundle
): ShareFormErrors {
  const errors: ShareFormErrors = {};
  const path = values.path.trim().replace(/^\/+/, '');
  if (!path) {
    errors.path = trans.__('Choose the file or folder to share.');
  } else if (path.split('/').includes('..')) {
    errors.path = trans.__('The path may not contain "..".');
  }
  const users = parseNames(values.users);
  const groups = parseNames(values.groups);
  const bad = [...users, ...groups].filter(name => !isName(name));
  if (bad.length) {
    errors.recipients = trans.__(
      'Not a user or group name: %1',
      bad.join(', ')
    );
  } else if (!users.length && !groups.length && !values.public) {
    errors.recipients = trans.__(
      'Name at least one user or group, or make the share public.'
    );
  }
  if (values.message.length > MAX_SHARE_MESSAGE) {
    errors.message = trans.__(
      'The message is too long (at most %1 characters).',
      MAX_SHARE_MESSAGE
    );
  }
  return errors;
}

export function isValid(errors: ShareFormErrors): boolean {
  return Object.keys(errors).length === 0;
}

/** The recipients of the request (`POST shares`). */
export function toRecipients(values: IShareFormValues): IShareRecipients {
  return {
    users: parseNames(values.users),
    groups: parseNames(values.groups),
    public: values.public
  };
}

export interface IShareFormProps {
  initial: IShareFormValues;
  trans: TranslationBundle;
  /** Called with the values at every change. */
  onChange: (values: IShareFormValues) => void;
  /** Show the errors at once (e.g. when the dialog comes back after a refused submit). */
  showErrors?: boolean;
  /** A sentence from the server (e.g. the path does not exist). */
  serverError?: string | null;
  /** Names to suggest; resolves null when the server offers none (typed names only). */
  suggestions?: (what: 'users' | 'groups') => Promise<string[] | null>;
  /** Whether this server shares between users of a JupyterHub (else the local store). */
  mode?: 'local' | 'hub';
}

/** The "Share…" form: path, users, groups, public, message; validated as it is typed. */
export function ShareForm(props: IShareFormProps): JSX.Element {
  const { trans } = props;
  const [values, setValues] = React.useState<IShareFormValues>(props.initial);
  const [touched, setTouched] = React.useState(!!props.showErrors);
  const errors = validateShareForm(values, trans);
  const update = (patch: Partial<IShareFormValues>): void => {
    const next = { ...values, ...patch };
    setValues(next);
    props.onChange(next);
  };
  const id = React.useId();
  return (
    <form
      className="jp-EOJLab-shareForm"
      onSubmit={e => e.preventDefault()}
      onBlur={() => setTouched(true)}
      noValidate
    >
      <label className="jp-EOJLab-field" htmlFor={`${id}-path`}>
        {trans.__('File or folder')}
      </label>
      <input
        id={`${id}-path`}
        className="jp-EOJLab-sharePath"
        value={values.path}
        aria-invalid={!!errors.path && touched}
        onChange={e => update({ path: e.target.value })}
      />
      {touched && errors.path && (
        <p className="jp-EOJLab-fieldError" role="alert">
          {errors.path}
        </p>
      )}
      <NamesField
        what="users"
        label={trans.__('Users')}
        placeholder={trans.__('alice, bob')}
        value={values.users}
        onChange={users => update({ users })}
        suggestions={props.suggestions}
        trans={trans}
      />
      <NamesField
        what="groups"
        label={trans.__('Groups')}
        placeholder={trans.__('course-2025, team-a')}
        value={values.groups}
        onChange={groups => update({ groups })}
        suggestions={props.suggestions}
        trans={trans}
      />
      <label className="jp-EOJLab-shareCheck">
        <input
          type="checkbox"
          className="jp-EOJLab-sharePublic"
          checked={values.public}
          onChange={e => update({ public: e.target.checked })}
        />
        <span>
          {props.mode === 'hub'
            ? trans.__('Public (every user of this platform)')
            : trans.__('Public (every user of this server)')}
        </span>
      </label>
      {touched && errors.recipients && (
        <p className="jp-EOJLab-fieldError" role="alert">
          {errors.recipients}
        </p>
      )}
      <label className="jp-EOJLab-field" htmlFor={`${id}-message`}>
        {trans.__('Message (optional)')}
      </label>
      <textarea
        id={`${id}-message`}
        className="jp-EOJLab-shareMessage"
        rows={3}
        value={values.message}
        onChange={e => update({ message: e.target.value })}
      />
      {errors.message && (
        <p className="jp-EOJLab-fieldError" role="alert">
          {errors.message}
        </p>
      )}
      {props.serverError && (
        <p className="jp-EOJLab-error" role="alert">
          {props.serverError}
        </p>
      )}
      <p className="jp-EOJLab-shareNote">
        {trans.__(
          'Recipients get a read-only snapshot; "Update share" publishes a new version later.'
        )}
      </p>
    </form>
  );
}

/** A box of typed names, with the server's names as suggestions when it has any. */
function NamesField(props: {
  what: 'users' | 'groups';
  label: string;
  placeholder: string;
  value: string;
  onChange: (value: string) => void;
  suggestions?: (what: 'users' | 'groups') => Promise<string[] | null>;
  trans: TranslationBundle;
}): JSX.Element {
  const { what, value, trans } = props;
  const [known, setKnown] = React.useState<string[] | null>(null);
  React.useEffect(() => {
    let live = true;
    props.suggestions?.(what).then(
      names => live && setKnown(names),
      () => live && setKnown(null)
    );
    return () => {
      live = false;
    };
  }, [what]);
  const id = React.useId();
  const typed = parseNames(value);
  // The name being typed: after the last separator.
  const partial = /[\s,;]$/.test(value) ? '' : (typed[typed.length - 1] ?? '');
  const offered = (known ?? [])
    .filter(
      name =>
        !typed.includes(name) &&
        name.toLowerCase().startsWith(partial.toLowerCase())
    )
    .slice(0, 8);
  const choose = (name: string): void => {
    const kept = partial ? typed.slice(0, -1) : typed;
    props.onChange([...kept, name].join(', ') + ', ');
  };
  return (
    <div className={`jp-EOJLab-shareNames jp-EOJLab-share-${what}`}>
      <label className="jp-EOJLab-field" htmlFor={id}>
        {props.label}
      </label>
      <input
        id={id}
        value={value}
        placeholder={props.placeholder}
        title={trans.__('Names separated by commas or spaces')}
        autoComplete="off"
        onChange={e => props.onChange(e.target.value)}
      />
      {offered.length > 0 && (
        <div
          className="jp-EOJLab-shareSuggestions"
          aria-label={trans.__('Suggestions')}
        >
          {offered.map(name => (
            <button
              type="button"
              key={name}
              className="jp-EOJLab-shareSuggestion"
              onClick={() => choose(name)}
            >
              {name}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
