import { useEffect, useEffectEvent, useId, useRef, type ReactNode, type RefObject } from 'react';
import { createPortal } from 'react-dom';
import { useTranslation } from 'react-i18next';
import { cn } from '../../lib/cn';
import { focusableWithin, trapTab } from '../../lib/focus';
import { CloseIcon } from '../icons';

export interface DialogProps {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  children?: ReactNode;
  /** action buttons, laid out at the bottom right */
  footer?: ReactNode;
  /** element to focus on open; defaults to the first focusable element in the body, else the panel */
  initialFocus?: RefObject<HTMLElement | null>;
  size?: 'sm' | 'md' | 'lg';
  /** close when the backdrop is clicked (default true) */
  dismissible?: boolean;
}

const widths = { sm: 'max-w-sm', md: 'max-w-lg', lg: 'max-w-2xl' } as const;

/**
 * A modal dialog: rendered over the page in a portal, traps focus while open, closes on Escape
 * (and backdrop click), and returns focus to what had it before opening.
 */
export function Dialog({ open, onClose, title, description, children, footer, initialFocus, size = 'md', dismissible = true }: DialogProps) {
  const { t } = useTranslation();
  const panelRef = useRef<HTMLDivElement>(null);
  // Escape calls the newest onClose without re-running the effect (which would move the focus again)
  const closeOnEscape = useEffectEvent(() => onClose());
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    if (!open) return;
    const previouslyFocused = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const panel = panelRef.current;
    if (panel) {
      const target = initialFocus?.current ?? focusableWithin(panel).find((el) => !el.dataset.dialogClose) ?? panel;
      target.focus();
    }
    const { overflow } = document.body.style;
    document.body.style.overflow = 'hidden';

    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        closeOnEscape();
      } else if (panelRef.current) {
        trapTab(e, panelRef.current);
      }
    };
    document.addEventListener('keydown', onKeyDown, true);
    return () => {
      document.removeEventListener('keydown', onKeyDown, true);
      document.body.style.overflow = overflow;
      if (previouslyFocused?.isConnected) previouslyFocused.focus();
    };
  }, [open, initialFocus]);

  if (!open) return null;

  return createPortal(
    <div className="fixed inset-0 z-50 flex items-end justify-center p-4 sm:items-center">
      <div
        className="absolute inset-0 animate-fade-in bg-zinc-950/50 backdrop-blur-sm"
        aria-hidden="true"
        onClick={dismissible ? () => onClose() : undefined}
      />
      <div
        ref={panelRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={description ? descriptionId : undefined}
        tabIndex={-1}
        className={cn(
          'relative w-full animate-dialog-in rounded-2xl border border-zinc-200 bg-white p-6 shadow-xl outline-none',
          'dark:border-zinc-800 dark:bg-zinc-900',
          widths[size],
        )}
      >
        <div className="flex items-start justify-between gap-4">
          <h2 id={titleId} className="text-lg font-semibold text-zinc-900 dark:text-white">
            {title}
          </h2>
          <button
            type="button"
            data-dialog-close="true"
            onClick={() => onClose()}
            className="-me-2 -mt-1 rounded-lg p-2 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-white"
            aria-label={t('ui.close')}
          >
            <CloseIcon className="size-5" />
          </button>
        </div>
        {description && (
          <p id={descriptionId} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            {description}
          </p>
        )}
        {children && <div className="mt-4 text-sm text-zinc-700 dark:text-zinc-300">{children}</div>}
        {footer && <div className="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">{footer}</div>}
      </div>
    </div>,
    document.body,
  );
}
