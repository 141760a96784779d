import { ISignal, Signal } from '@lumino/signaling';

import type { IStateDB } from '@jupyterlab/statedb';

import {
  copyShare,
  createShare,
  deleteShare,
  fetchSharedFile,
  getShare,
  listShareNames,
  listShares,
  newShareVersion
} from '../api';
import { IShare, IShareRecipients, ShareScope } from '../tokens';

/** The lists of the Shared section, in the order of its tabs. */
export const SHARE_SCOPES: ShareScope[] = ['with-me', 'by-me', 'public'];

/** Where the last-seen time lives (per user), in the state DB or localStorage. */
export const SEEN_KEY_PREFIX = 'eo_jlab:shares-seen:';

/** Where the list the user last chose lives (per user), beside the last-seen time. */
export const SCOPE_KEY_PREFIX = 'eo_jlab:shares-scope:';

/** The little of a key/value store `SharesModel` needs (IStateDB, or a stand-in). */
export interface ISeenStore {
  fetch(key: string): Promise<unknown>;
  save(key: string, value: any): Promise<unknown>;
}

export interface ISharesModelOptions {
  /** JupyterLab's state DB (preferred) for the last-seen time. */
  state?: IStateDB | ISeenStore | null;
  /** Fallback when there is no state DB; default `window.localStorage` when available. */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  /** Seconds between checks for new shares while sharing is on; 0 = never. Default 60. */
  checkInterval?: number;
}

/**
 * The Shared section's state: the three lists (with me, by me, public), the actions on
 * shares, and how many shares with me (or public ones) were updated since the user last
 * looked. Lists are checked every `checkInterval` seconds while sharing is enabled.
 */
export class SharesModel {
  constructor(options: ISharesModelOptions = {}) {
    this._state = options.state ?? null;
    this._storage =
      options.storage !== undefined
        ? options.storage
        : typeof window !== 'undefined' && window.localStorage
          ? window.localStorage
          : null;
    this._checkInterval = Math.max(0, options.checkInterval ?? 60);
  }

  /** Emitted whenever lists, scope, loading, error or the new count change. */
  get changed(): ISignal<SharesModel, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether sharing is on (the server's `config.sharing.enabled`): lists and checks run. */
  get enabled(): boolean {
    return this._enabled;
  }

  set enabled(enabled: boolean) {
    if (enabled === this._enabled || this._isDisposed) {
      return;
    }
    this._enabled = enabled;
    this._schedule();
    if (enabled) {
      void this.refresh();
    } else {
      this._changed.emit();
    }
  }

  /** The signed-in user (`config.user.name`): owner of "by me" shares, key of last-seen. */
  get user(): string | null {
    return this._user;
  }

  set user(user: string | null) {
    if (user === this._user || this._isDisposed) {
      return;
    }
    this._user = user;
    this._lastSeen = null;
    this._seenLoaded = this._loadSeen(user);
    void this._seenLoaded.then(() => this._changed.emit());
  }

  /** Seconds between checks for new shares; 0 = off. */
  get checkInterval(): number {
    return this._checkInterval;
  }

  set checkInterval(seconds: number) {
    const value = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
    if (value !== this._checkInterval) {
      this._checkInterval = value;
      this._schedule();
    }
  }

  /** Whether the periodic check runs (for tests and diagnostics). */
  get polling(): boolean {
    return this._timer !== null;
  }

  /**
   * The list shown. Until the user chooses one, it is their last choice (remembered per
   * user) when that list has shares, else the first list that has some.
   */
  get scope(): ShareScope {
    return this._scope;
  }

  /** Show a list: the user's choice, kept for this session and remembered for the next. */
  set scope(scope: ShareScope) {
    this._chosen = true;
    if (scope !== this._remembered) {
      this._remembered = scope;
      void this._save(SCOPE_KEY_PREFIX, scope);
    }
    if (scope !== this._scope) {
      this._scope = scope;
      this._changed.emit();
    }
  }

  /** The shares of a scope (default: the one shown), most recently updated first. */
  shares(scope: ShareScope = this._scope): readonly IShare[] {
    return this._lists[scope];
  }

  get counts(): Record<ShareScope, number> {
    return {
      'with-me': this._lists['with-me'].length,
      'by-me': this._lists['by-me'].length,
      public: this._lists.public.length
    };
  }

  get loading(): boolean {
    return this._loading;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /** A sentence when the lists could not be loaded. */
  get error(): string | null {
    return this._error;
  }

  /** The newest `updated` the user has seen (server time, ISO), or null (never looked). */
  get lastSeen(): string | null {
    return this._lastSeen;
  }

  /** Shares with me or public, not mine, updated since the user last looked. */
  get newShares(): IShare[] {
    const seen = this._lastSeen ? Date.parse(this._lastSeen) : -Infinity;
    const found = new Map<string, IShare>();
    for (const share of [...this._lists['with-me'], ...this._lists.public]) {
      if (!this.isMine(share) && Date.parse(share.updated) > seen) {
        found.set(share.id, share);
      }
    }
    return [...found.values()];
  }

  get newCount(): number {
    return this.newShares.length;
  }

  isNew(share: IShare): boolean {
    return this.newShares.some(s => s.id === share.id);
  }

  /**
   * Whether `share` is one of mine (I may update or unshare it): listed "by me" (the
   * server's word: it may name owners otherwise than `config.user.name`), or owned by me.
   */
  isMine(share: IShare): boolean {
    return (
      this._lists['by-me'].some(s => s.id === share.id) ||
      (this._user !== null && share.owner === this._user)
    );
  }

  /** A listed share by id. */
  get(id: string): IShare | undefined {
    for (const scope of SHARE_SCOPES) {
      const share = this._lists[scope].find(s => s.id === id);
      if (share) {
        return share;
      }
    }
    return undefined;
  }

  /** Reload the three lists. */
  async refresh(): Promise<void> {
    if (this._isDisposed || !this._enabled) {
      return;
    }
    const generation = ++this._generation;
    this._loading = true;
    this._changed.emit();
    try {
      const answers = await Promise.all(
        SHARE_SCOPES.map(scope => listShares(scope))
      );
      await this._seenLoaded;
      if (this._isDisposed || generation !== this._generation) {
        return;
      }
      SHARE_SCOPES.forEach((scope, i) => {
        this._lists[scope] = [...(answers[i].shares ?? [])].sort(byUpdated);
      });
      this._settleScope();
      this._loaded = true;
      this._error = null;
    } catch (error) {
      if (generation === this._generation) {
        this._error = messageOf(error);
      }
    } finally {
      if (generation === this._generation && !this._isDisposed) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** The user looked at the lists: nothing listed is new any more (remembered per user). */
  async markSeen(): Promise<void> {
    let newest = this._lastSeen ? Date.parse(this._lastSeen) : -Infinity;
    let value = this._lastSeen;
    for (const share of [...this._lists['with-me'], ...this._lists.public]) {
      const time = Date.parse(share.updated);
      if (!this.isMine(share) && time > newest) {
        newest = time;
        value = share.updated;
      }
    }
    if (value === this._lastSeen) {
      return;
    }
    this._lastSeen = value;
    this._changed.emit();
    await this._saveSeen(value);
  }

  /** Share a file or folder of my workspace. */
  async create(
    path: string,
    recipients: IShareRecipients,
    message?: string
  ): Promise<IShare> {
    const share = await createShare({
      path,
      recipients,
      ...(message ? { message } : {})
    });
    this._put(share, true);
    // What the user just shared is what they want to see.
    this.scope = 'by-me';
    return share;
  }

  /** Publish my current file(s) as a new version of one of my shares. */
  async newVersion(id: string, message?: string): Promise<IShare> {
    const share = await newShareVersion(id, message);
    this._put(share, true);
    return share;
  }

  /** Stop sharing (the server removes every version). */
  async unshare(id: string): Promise<void> {
    await deleteShare(id);
    for (const scope of SHARE_SCOPES) {
      this._lists[scope] = this._lists[scope].filter(s => s.id !== id);
    }
    this._changed.emit();
  }

  /** Copy a share into my workspace; resolves with the copy's path (never overwrites). */
  async copy(id: string, destination?: string): Promise<string> {
    const { path } = await copyShare(id, destination);
    return path;
  }

  /** The full share (recipients, files, versions). */
  async details(id: string): Promise<IShare> {
    const share = await getShare(id);
    this._put(share, this.isMine(share), false);
    return share;
  }

  /** One file of a share, read-only. */
  readFile(id: string, path: string): Promise<Response> {
    return fetchSharedFile(id, path);
  }

  /** Names the recipient picker may suggest; null when the server offers none. */
  async suggestions(what: 'users' | 'groups'): Promise<string[] | null> {
    if (!this._suggestions.has(what)) {
      this._suggestions.set(
        what,
        listShareNames(what).catch(() => null)
      );
    }
    return this._suggestions.get(what)!;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._clearTimer();
    Signal.clearData(this);
  }

  /** Put a share the server just answered into the lists it belongs to. */
  private _put(share: IShare, mine: boolean, add = true): void {
    for (const scope of SHARE_SCOPES) {
      const list = this._lists[scope];
      const index = list.findIndex(s => s.id === share.id);
      const belongs =
        scope === 'by-me'
          ? mine
          : scope === 'public'
            ? share.recipients?.public
            : !mine && index >= 0;
      if (index >= 0) {
        this._lists[scope] = belongs
          ? [...list.slice(0, index), share, ...list.slice(index + 1)].sort(
              byUpdated
            )
          : list.filter(s => s.id !== share.id);
      } else if (add && belongs) {
        this._lists[scope] = [share, ...list].sort(byUpdated);
      }
    }
    this._changed.emit();
  }

  private _schedule(): void {
    this._clearTimer();
    if (this._isDisposed || !this._enabled || this._checkInterval <= 0) {
      return;
    }
    this._timer = setInterval(() => {
      if (!this._loading) {
        void this.refresh();
      }
    }, this._checkInterval * 1000);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  /** Before the user chooses a list: their last choice if it has shares, else one that has. */
  private _settleScope(): void {
    if (this._chosen) {
      return;
    }
    const filled = (scope: ShareScope | null) =>
      scope !== null && this._lists[scope].length > 0;
    const scope = filled(this._remembered)
      ? this._remembered!
      : filled(this._scope)
        ? this._scope
        : (SHARE_SCOPES.find(filled) ?? this._remembered ?? this._scope);
    this._scope = scope;
  }

  private async _loadSeen(user: string | null): Promise<void> {
    if (!user) {
      return;
    }
    const [seen, scope] = await Promise.all([
      this._load(SEEN_KEY_PREFIX + user),
      this._load(SCOPE_KEY_PREFIX + user)
    ]);
    if (user !== this._user) {
      return;
    }
    if (typeof seen === 'string') {
      this._lastSeen = seen;
    }
    if (SHARE_SCOPES.includes(scope as ShareScope) && !this._chosen) {
      this._remembered = scope as ShareScope;
    }
  }

  private async _load(key: string): Promise<unknown> {
    try {
      if (this._state) {
        return (await this._state.fetch(key)) ?? null;
      }
      return this._storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  private _saveSeen(value: string | null): Promise<void> {
    return value ? this._save(SEEN_KEY_PREFIX, value) : Promise.resolve();
  }

  private async _save(prefix: string, value: string): Promise<void> {
    if (!this._user) {
      return;
    }
    try {
      if (this._state) {
        await this._state.save(prefix + this._user, value);
      } else {
        this._storage?.setItem(prefix + this._user, value);
      }
    } catch (error) {
      console.warn('eo_jlab: could not remember the Shared section.', error);
    }
  }

  private _state: ISeenStore | null;
  private _storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  private _checkInterval: number;
  private _enabled = false;
  private _user: string | null = null;
  private _lastSeen: string | null = null;
  private _seenLoaded: Promise<void> = Promise.resolve();
  private _scope: ShareScope = 'with-me';
  /** The list the user chose last (this session or a previous one). */
  private _remembered: ShareScope | null = null;
  /** Whether the user chose a list in this session (then it is never changed for them). */
  private _chosen = false;
  private _lists: Record<ShareScope, IShare[]> = {
    'with-me': [],
    'by-me': [],
    public: []
  };
  private _loading = false;
  private _loaded = false;
  private _error: string | null = null;
  private _generation = 0;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _suggestions = new Map<string, Promise<string[] | null>>();
  private _isDisposed = false;
  private _changed = new Signal<SharesModel, void>(this);
}

/** Most recently updated first. */
function byUpdated(a: IShare, b: IShare): number {
  return (Date.parse(b.updated) || 0) - (Date.parse(a.updated) || 0);
}

/** "812 B", "1.4 KB", "3.2 MB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} ${units[unit]}`
    : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Names typed in one box: separated by commas, semicolons or spaces; no duplicates. */
export function parseNames(text: string): string[] {
  const names = text
    .split(/[\s,;]+/)
    .map(name => name.trim())
    .filter(Boolean);
  return Array.from(new Set(names));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
