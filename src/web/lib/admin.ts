import { can, type ConsolePermission } from '../../shared/api/admin';
import { useMe } from './auth';

/** The console's permission check for the signed-in user (the server checks again on every call). */
export function useCan(): (permission: ConsolePermission) => boolean {
  const { data: me } = useMe();
  return (permission) => can(me?.role, permission);
}
