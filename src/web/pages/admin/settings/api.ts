import { queryOptions } from '@tanstack/react-query';
import type { ConnectionTestId, ConnectionTestResult, SettingsView, SetupChecklist, UpdateSettingsResult } from '../../../../shared/api';
import { apiFetch } from '../../../lib/api';

/*
 * The console's settings and setup sections in the browser (/admin/settings, /admin/setup): the
 * shapes are the server's (src/shared/api/admin-settings.ts).
 */
export type { ConnectionTestId, ConnectionTestResult, SettingGroupView, SettingView, SettingsView, SetupChecklist, SetupItem } from '../../../../shared/api';
export { connectionTestKeys } from '../../../../shared/api';

const key = ['admin-settings'] as const;

export const settingsQuery = queryOptions({
  queryKey: [...key, 'settings'] as const,
  queryFn: ({ signal }) => apiFetch<SettingsView>('/api/admin/settings', { signal }),
});

export const setupQuery = queryOptions({
  queryKey: [...key, 'setup'] as const,
  queryFn: ({ signal }) => apiFetch<SetupChecklist>('/api/admin/setup', { signal }),
});

/** PUT: null (or '') clears a saved value, back to the default */
export const saveSettings = (values: Record<string, string | null>) =>
  apiFetch<UpdateSettingsResult>('/api/admin/settings', { method: 'PUT', body: { values } });

export const testConnection = (provider: ConnectionTestId, values: Record<string, string>) =>
  apiFetch<ConnectionTestResult>(`/api/admin/settings/test/${provider}`, { method: 'POST', body: { values } });

export const claimAdmin = () => apiFetch<{ role: 'admin' }>('/api/setup/claim-admin', { method: 'POST', body: {} });
