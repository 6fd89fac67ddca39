import { useTranslation } from 'react-i18next';
import { cn } from '../../lib/cn';
import { themePreferences, useTheme, type ThemePreference } from '../../lib/theme';
import { MonitorIcon, MoonIcon, SunIcon } from '../icons';

const icons: Record<ThemePreference, typeof SunIcon> = { light: SunIcon, dark: MoonIcon, system: MonitorIcon };

/** Light / dark / system switch: a group of toggle buttons, the active one pressed. */
export function ThemeToggle({ className, showLabels = false }: { className?: string; showLabels?: boolean }) {
  const { t } = useTranslation();
  const { preference, setPreference } = useTheme();
  return (
    <div
      role="group"
      aria-label={t('theme.label')}
      data-testid="theme-toggle"
      className={cn(
        'inline-flex items-center gap-0.5 rounded-full border border-zinc-200 bg-zinc-100/70 p-0.5 dark:border-zinc-800 dark:bg-zinc-900',
        className,
      )}
    >
      {themePreferences.map((pref) => {
        const Icon = icons[pref];
        const active = pref === preference;
        return (
          <button
            key={pref}
            type="button"
            aria-pressed={active}
            aria-label={showLabels ? undefined : t(`theme.${pref}`)}
            title={t(`theme.${pref}`)}
            data-theme-option={pref}
            onClick={() => setPreference(pref)}
            className={cn(
              'inline-flex h-7 items-center justify-center gap-1.5 rounded-full text-xs font-medium transition-colors',
              showLabels ? 'px-3' : 'w-7',
              active
                ? 'bg-white text-zinc-900 shadow-sm dark:bg-zinc-700 dark:text-white'
                : 'text-zinc-500 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white',
            )}
          >
            <Icon className="size-4" />
            {showLabels && <span>{t(`theme.${pref}`)}</span>}
          </button>
        );
      })}
    </div>
  );
}
