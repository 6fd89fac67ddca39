import { useTranslation } from 'react-i18next';
import type { FreeCreditState, RiskSignalKind } from '../../../../shared/api/admin-risk';
import { Badge } from '../../../components/ui';
import { dash } from '../users/shared';

/** A signal kind's name ("Device", "Card", ...). */
export function useKindName(): (kind: RiskSignalKind) => string {
  const { t } = useTranslation();
  return (kind) => t(`admin.risk.kinds.${kind}`);
}

/** The kinds two accounts share, as a short list of names. */
export function KindList({ kinds }: { kinds: readonly RiskSignalKind[] }) {
  const name = useKindName();
  return <>{kinds.map(name).join(', ') || dash}</>;
}

export function StrengthBadge({ strength }: { strength: 'strong' | 'weak' }) {
  const { t } = useTranslation();
  return <Badge tone={strength === 'strong' ? 'warning' : 'neutral'}>{t(`admin.risk.strength.${strength}`)}</Badge>;
}

/** The free-credit decision of an account ("Granted", "Withheld", ...; "—" when it has none). */
export function FreeCreditBadge({ state }: { state: FreeCreditState | null }) {
  const { t } = useTranslation();
  if (!state) return <span className="text-zinc-500 dark:text-zinc-400">{t('admin.risk.freeCredits.unknown')}</span>;
  const tone = state === 'granted' ? 'success' : state === 'withheld' ? 'warning' : 'neutral';
  return <Badge tone={tone}>{t(`admin.risk.freeCredits.${state}`)}</Badge>;
}
