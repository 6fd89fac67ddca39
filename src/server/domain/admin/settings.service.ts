import type { Logger } from 'pino';
import {
  connectionTestKeys,
  type ConnectionTestId,
  type ConnectionTestResult,
  type SettingGroupView,
  type SettingView,
  type SettingsView,
  type UpdateSettingsResult,
} from '../../../shared/api/admin-settings';
import type { Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { createSecretBox, SecretBoxError, type SecretBox } from '../../lib/secret-box';
import type { AuditActor, AuditService } from './audit.service';
import { testConnection, type ConnectionSettings } from './settings.connections';
import { asText, declaredSettings, defaultOf, parseSetting, secretHint, settingByKey, settingGroups, type DeclaredSetting } from './settings.declared';
import {
  deleteStoredSetting,
  listStoredSettings,
  lockStoredSettings,
  notifySettingsChanged,
  replaceSealedSetting,
  SETTINGS_CHANNEL,
  upsertStoredSetting,
  type StoredSettingRow,
} from './settings.repo';

/**
 * Settings in the console (issue 18). The value in effect is the environment's when it sets the
 * variable, else the one stored in `app_settings` (JSON sealed with the secret box, purpose
 * `settings`, the key bound as context), else the default. Every process overlays the stored values
 * on its config at start-up (loadStoredSettings, before the adapters are built) and LISTENs on
 * `settings_changed`: a save NOTIFYs in its transaction, and each process reloads, writes the `live`
 * settings into the shared config object and rebuilds the adapters they feed (settings.live.ts).
 * Secrets never leave: views carry `set` and a short hint, the audit log `{set}` / `{cleared}`.
 */
export interface SettingsService {
  /** Every declared setting with its source and value (secrets: set or not, and a hint). */
  view(opts: { canEdit: boolean }): Promise<SettingsView>;
  /** Saves in one transaction with one audit entry per changed key, then applies the change here (and NOTIFYs the others). */
  update(actor: AuditActor, values: Record<string, string | null>): Promise<UpdateSettingsResult>;
  /** A cheap authenticated call with the settings in effect, or the values typed (blank secrets: the ones in effect). */
  test(id: ConnectionTestId, values?: Record<string, string>): Promise<ConnectionTestResult>;
  /** Reads the stored values and applies the `live` ones that changed; resolves to their keys. */
  reload(): Promise<ReadonlySet<string>>;
  /** Called after each reload that changed something (adapters rebuild here). */
  onChange(listener: (changed: ReadonlySet<string>) => void | Promise<void>): () => void;
  /** LISTEN for changes from any process (and look again every 30 s, in case a notification was missed while reconnecting). */
  start(): Promise<void>;
  close(): Promise<void>;
  /** After a SESSION_SECRET rotation: values sealed with an older secret are sealed with the current one. */
  resealSecrets(): Promise<{ checked: number; resealed: number; unreadable: number }>;
}

export interface SettingsDeps {
  database: Database;
  config: Config;
  audit: Pick<AuditService, 'record'>;
  clock: Pick<Clock, 'now' | 'nowMs' | 'setTimer'>;
  logger: Logger;
}

const BACKSTOP_MS = 30_000;

export function settingsBox(config: Pick<Config, 'SESSION_SECRET' | 'SESSION_SECRET_PREVIOUS'>): SecretBox {
  return createSecretBox([config.SESSION_SECRET, ...config.SESSION_SECRET_PREVIOUS], 'settings');
}

/** the config object, written by key */
const writable = (config: Config) => config as unknown as Record<string, unknown>;

const envKeysOf = (config: Config) => new Set(config.envKeys ?? []);

/** A stored row's value as the environment would give it; undefined when no configured secret opens it. */
function openRow(box: SecretBox, row: StoredSettingRow): string | undefined {
  try {
    const value: unknown = JSON.parse(box.open(row.sealedValue, row.key));
    return typeof value === 'string' ? value : undefined;
  } catch (err) {
    if (err instanceof SecretBoxError || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Start-up: the stored values of the settings the environment leaves unset, written into `config`
 * before the adapters and services are built (so `restart` settings apply from the next start).
 * A value that no longer opens or parses is skipped with a warning. Resolves to the keys applied.
 */
export async function loadStoredSettings(db: DbHandle, config: Config, logger?: Pick<Logger, 'warn'>): Promise<string[]> {
  const box = settingsBox(config);
  const env = envKeysOf(config);
  const applied: string[] = [];
  for (const row of await listStoredSettings(db)) {
    const s = settingByKey.get(row.key);
    if (!s || s.readOnly || env.has(s.key)) continue;
    const raw = openRow(box, row);
    const parsed = raw === undefined ? undefined : parseSetting(s, raw);
    if (!parsed?.ok) {
      logger?.warn({ key: row.key }, 'settings: a value stored in the console could not be read; using the default');
      continue;
    }
    writable(config)[s.key] = parsed.value;
    applied.push(s.key);
  }
  return applied;
}

/** a typed value, checked: its setting, the text to store (null: clear) and what it parses to */
interface Checked {
  s: DeclaredSetting;
  raw: string | null;
  value: unknown;
}

const same = (a: unknown, b: unknown) => a === b || (Array.isArray(a) && Array.isArray(b) && a.join('\n') === b.join('\n'));

export function createSettingsService({ database, config, audit, clock, logger }: SettingsDeps): SettingsService {
  const box = settingsBox(config);
  const env = envKeysOf(config);
  const listeners = new Set<(changed: ReadonlySet<string>) => void | Promise<void>>();
  let chain: Promise<unknown> = Promise.resolve();
  let unlisten: (() => Promise<void>) | null = null;
  let cancelBackstop: (() => void) | null = null;
  let closed = false;

  /** key -> stored value (undefined: stored but unreadable) */
  async function stored(db: DbHandle = database): Promise<Map<string, { raw: string | undefined; row: StoredSettingRow }>> {
    return new Map((await listStoredSettings(db)).map((row) => [row.key, { raw: openRow(box, row), row }]));
  }

  /** what the stored value (or its absence) makes of a setting */
  function effectiveFrom(s: DeclaredSetting, raw: string | undefined): unknown {
    if (raw !== undefined) {
      const parsed = parseSetting(s, raw);
      if (parsed.ok) return parsed.value;
    }
    return defaultOf(s);
  }

  function settingView(s: DeclaredSetting, entry: { raw: string | undefined; row: StoredSettingRow } | undefined, canEdit: boolean): SettingView {
    const envSet = env.has(s.key);
    const current = (config as unknown as Record<string, unknown>)[s.key];
    const text = asText(current);
    const isSet = text !== null && text !== '';
    return {
      key: s.key,
      group: s.group,
      input: s.input,
      ...(s.options ? { options: [...s.options] } : {}),
      secret: s.secret,
      apply: s.apply,
      editable: canEdit && !envSet && !s.readOnly,
      readOnly: s.readOnly,
      source: envSet ? 'environment' : entry ? 'database' : 'default',
      value: s.secret ? null : text,
      defaultValue: s.secret ? null : asText(defaultOf(s)),
      set: isSet,
      hint: s.secret && isSet ? secretHint(s, text) : null,
      pendingRestart: s.apply === 'restart' && !envSet && !s.readOnly && !same(effectiveFrom(s, entry?.raw), current),
      updatedAt: entry?.row.updatedAt.toISOString() ?? null,
      updatedBy: entry?.row.updatedBy ?? null,
    };
  }

  async function view({ canEdit }: { canEdit: boolean }): Promise<SettingsView> {
    const rows = await stored();
    const groups: SettingGroupView[] = settingGroups.map((g) => ({
      id: g.id,
      test: g.test,
      settings: declaredSettings.filter((s) => s.group === g.id).map((s) => settingView(s, rows.get(s.key), canEdit)),
    }));
    return { groups, canEdit };
  }

  /** the typed values, checked: unknown, shown-only and environment settings are refused, each value parsed */
  function checkValues(values: Record<string, string | null>, allowed?: readonly string[]): Map<string, Checked> {
    const fields: { field: string; message: string }[] = [];
    const out = new Map<string, Checked>();
    for (const [key, value] of Object.entries(values)) {
      const s = settingByKey.get(key);
      if (!s || (allowed && !allowed.includes(key))) {
        fields.push({ field: key, message: `${key} is not a setting ${allowed ? 'this test uses' : 'the console can change'}.` });
        continue;
      }
      if (s.readOnly) {
        fields.push({ field: key, message: `${key} is shown only: set it in the environment and restart.` });
        continue;
      }
      if (env.has(key)) {
        fields.push({ field: key, message: `${key} is set by the environment, which wins over the console; change it there.` });
        continue;
      }
      const raw = value === null ? null : value.trim();
      if (raw === null || raw === '') {
        out.set(key, { s, raw: null, value: undefined });
        continue;
      }
      const parsed = parseSetting(s, raw);
      if (!parsed.ok) fields.push({ field: key, message: `${key} ${parsed.message}.` });
      else out.set(key, { s, raw, value: parsed.value });
    }
    if (fields.length) throw new AppError('invalid_setting', fields.map((f) => f.message).join(' '), 400, { fields });
    return out;
  }

  async function update(actor: AuditActor, values: Record<string, string | null>): Promise<UpdateSettingsResult> {
    if (Object.keys(values).length === 0) throw new AppError('invalid_request', 'Name at least one setting in values.', 400);
    const next = checkValues(values);
    const at = clock.now();
    const changed = await database.transaction(async (tx) => {
      const before = new Map((await lockStoredSettings(tx, [...next.keys()])).map((row) => [row.key, { raw: openRow(box, row), row }]));
      const keys: string[] = [];
      for (const [key, { s, raw }] of next) {
        const prev = before.get(key);
        // unchanged (an unreadable stored value is always replaced)
        if (raw === null ? !prev : prev?.raw === raw) continue;
        if (raw === null) await deleteStoredSetting(tx, key);
        else await upsertStoredSetting(tx, { key, sealedValue: box.seal(JSON.stringify(raw), key), updatedAt: at, updatedBy: actor.label });
        await audit.record(
          actor,
          {
            action: 'settings.update',
            targetType: 'setting',
            targetId: key,
            before: s.secret ? { set: Boolean(prev) } : { value: prev ? (prev.raw ?? null) : null },
            after: raw === null ? (s.secret ? { cleared: true } : { cleared: true, default: asText(defaultOf(s)) }) : s.secret ? { set: true } : { value: raw },
          },
          tx,
        );
        keys.push(key);
      }
      if (keys.length) await notifySettingsChanged(tx, keys);
      return keys;
    });
    // this process at once (the NOTIFY reaches it too; a second reload finds nothing left to do)
    if (changed.length) await reload();
    return { ...(await view({ canEdit: true })), changed };
  }

  async function test(id: ConnectionTestId, values: Record<string, string> = {}): Promise<ConnectionTestResult> {
    // blank fields (a secret not retyped) mean "the one in effect"
    const typed = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
    const checked = checkValues(typed, connectionTestKeys[id]);
    const settings = { ...config } as unknown as Record<string, unknown>;
    for (const [key, { raw, value }] of checked) if (raw !== null) settings[key] = value;
    return testConnection(id, settings as unknown as ConnectionSettings, () => clock.nowMs());
  }

  async function applyStored(): Promise<ReadonlySet<string>> {
    const rows = await stored();
    const changed = new Set<string>();
    for (const s of declaredSettings) {
      if (s.apply !== 'live' || s.readOnly || env.has(s.key)) continue;
      const entry = rows.get(s.key);
      if (entry && entry.raw === undefined) {
        logger.warn({ key: s.key }, 'settings: a value stored in the console could not be opened; keeping the one in effect');
        continue;
      }
      const value = effectiveFrom(s, entry?.raw);
      if (same(writable(config)[s.key], value)) continue;
      writable(config)[s.key] = value;
      changed.add(s.key);
    }
    if (changed.size) {
      logger.info({ keys: [...changed] }, 'settings: applied changes made in the console');
      for (const l of listeners) {
        try {
          await l(changed);
        } catch (err) {
          logger.error({ err, keys: [...changed] }, 'settings: applying a change failed');
        }
      }
    }
    return changed;
  }

  function reload(): Promise<ReadonlySet<string>> {
    // one at a time, in order: a notification during a reload is read after it
    const run = chain.then(applyStored, applyStored);
    chain = run.catch(() => undefined);
    return run;
  }

  const reloadQuietly = () => {
    if (closed) return;
    reload().catch((err: unknown) => logger.warn({ err }, 'settings: could not read the stored settings'));
  };

  function armBackstop() {
    if (closed) return;
    // real time, not the injected clock: re-reading in case a notification was missed is housekeeping,
    // and a timer on a test's fake clock would count among the sleepers the tests wait for
    const timer = setTimeout(() => {
      reloadQuietly();
      armBackstop();
    }, BACKSTOP_MS);
    timer.unref();
    cancelBackstop = () => clearTimeout(timer);
  }

  return {
    view,
    update,
    test,
    reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      if (unlisten || closed) return;
      unlisten = await database.listen(SETTINGS_CHANNEL, reloadQuietly);
      await reload();
      armBackstop();
    },
    async close() {
      closed = true;
      cancelBackstop?.();
      const stop = unlisten;
      unlisten = null;
      await stop?.().catch(() => undefined);
      await chain;
    },
    async resealSecrets() {
      const rows = await listStoredSettings(database);
      let resealed = 0;
      let unreadable = 0;
      for (const row of rows) {
        let next: string | null;
        try {
          next = box.reseal(row.sealedValue, row.key);
        } catch (err) {
          if (!(err instanceof SecretBoxError)) throw err;
          unreadable++;
          logger.warn({ key: row.key }, 'settings: a stored value opens with no configured secret; set it again in the console');
          continue;
        }
        if (next !== null && (await replaceSealedSetting(database, row.key, row.sealedValue, next))) resealed++;
      }
      return { checked: rows.length, resealed, unreadable };
    },
  };
}
