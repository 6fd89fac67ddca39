import { useId, useState, type KeyboardEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { mentionsIn } from '../../../../shared/catalog/request-schema';
import { cn } from '../../../lib/cn';

export interface MentionOption {
  token: string;
  /** what it is, e.g. "Image · sunset.png" */
  description: string;
}

/** The `@word` being typed just before the caret, if any. */
function activeMention(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)@(\w*)$/.exec(before);
  if (!m) return null;
  const word = m[2] ?? '';
  return { start: caret - word.length - 1, query: word.toLowerCase() };
}

/**
 * The @-mention helper of the prompt: typing `@` opens a listbox of the attached references,
 * ArrowUp/ArrowDown move, Enter or Tab inserts the token, Escape closes. The textarea is the
 * owner of the list; the active option is announced through aria-activedescendant.
 */
export function useMentions({
  textareaRef,
  value,
  setValue,
  options,
}: {
  textareaRef: RefObject<HTMLTextAreaElement | null>;
  value: string;
  setValue: (next: string) => void;
  options: MentionOption[];
}) {
  const { t } = useTranslation();
  const listId = useId();
  const [state, setState] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);

  const matches = state ? options.filter((o) => o.token.slice(1).toLowerCase().startsWith(state.query)) : [];
  const open = !!state && matches.length > 0;
  const activeIndex = Math.min(active, Math.max(0, matches.length - 1));

  const refresh = (text: string, caret: number) => {
    const found = activeMention(text, caret);
    if (found && dismissedAt === found.start) {
      setState(null);
      return;
    }
    if (found?.start !== state?.start || found?.query !== state?.query) setActive(0);
    setState(found);
    if (!found) setDismissedAt(null);
  };

  const insert = (option: MentionOption) => {
    const el = textareaRef.current;
    if (!state || !el) return;
    const caret = el.selectionStart;
    const after = value.slice(caret);
    const token = option.token + (after.startsWith(' ') ? '' : ' ');
    const next = value.slice(0, state.start) + token + after;
    setValue(next);
    setState(null);
    const position = state.start + token.length;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(position, position);
    });
  };

  /** Call first from the textarea's onKeyDown; true when the key was for the menu. */
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): boolean => {
    if (!open) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const d = e.key === 'ArrowDown' ? 1 : -1;
      setActive((activeIndex + d + matches.length) % matches.length);
      return true;
    }
    const chosen = matches[activeIndex];
    if (chosen && ((e.key === 'Enter' && !e.ctrlKey && !e.metaKey) || e.key === 'Tab')) {
      e.preventDefault();
      insert(chosen);
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setDismissedAt(state.start);
      setState(null);
      return true;
    }
    return false;
  };

  const optionId = (i: number) => `${listId}-option-${i}`;

  const textareaProps = {
    'aria-autocomplete': 'list' as const,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? optionId(activeIndex) : undefined,
    onSelect: (e: React.SyntheticEvent<HTMLTextAreaElement>) => refresh(e.currentTarget.value, e.currentTarget.selectionStart),
    onBlur: () => setState(null),
  };

  const menu = open ? (
    <ul
      id={listId}
      role="listbox"
      aria-label={t('studio.references.mentions.label')}
      className="absolute start-0 top-full z-20 mt-1 max-h-56 w-64 max-w-full overflow-auto rounded-lg border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
      data-testid="mention-menu"
    >
      {matches.map((o, i) => (
        <li
          key={o.token}
          id={optionId(i)}
          role="option"
          aria-selected={i === activeIndex}
          // keep the focus in the textarea
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => insert(o)}
          onMouseEnter={() => setActive(i)}
          className={cn(
            'flex cursor-pointer items-baseline gap-2 px-3 py-1.5 text-sm',
            i === activeIndex ? 'bg-brand-50 text-brand-900 dark:bg-brand-950/60 dark:text-brand-100' : 'text-zinc-800 dark:text-zinc-200',
          )}
        >
          <code className="font-semibold">{o.token}</code>
          <span className="truncate text-xs text-zinc-500 dark:text-zinc-400">{o.description}</span>
        </li>
      ))}
    </ul>
  ) : null;

  return { textareaProps, onKeyDown, menu, refresh };
}

/** Mentions in the prompt that name no attached reference (`@image3` with two images). */
export function unknownMentions(prompt: string, tokens: Iterable<string>): string[] {
  const known = new Set(tokens);
  return [...new Set(mentionsIn(prompt).map((m) => m.text))].filter((m) => !known.has(m));
}
