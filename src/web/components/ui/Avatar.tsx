import { useState } from 'react';
import { cn } from '../../lib/cn';

/** Up to two initials of a name ("Ada Lovelace" → "AL"), or of the email's local part. */
export function initials(name: string, email = ''): string {
  const words = (name.trim() || email.split('@')[0] || '?').split(/[\s._-]+/).filter(Boolean);
  const initial = (word = '') => (Array.from(word)[0] ?? '').toUpperCase();
  return initial(words[0]) + (words.length > 1 ? initial(words.at(-1)) : '') || '?';
}

/** The profile photo, or initials on a brand tile. Decorative: the name is always shown or labelled nearby. */
export function Avatar({ src, name, email, className }: { src?: string | null; name: string; email?: string; className?: string }) {
  const [failed, setFailed] = useState<string | null>(null);
  const showImage = src && failed !== src;
  return (
    <span
      aria-hidden="true"
      className={cn(
        'inline-flex shrink-0 items-center justify-center overflow-hidden rounded-full bg-gradient-to-br from-brand-500 to-fuchsia-500 font-semibold text-white select-none',
        className,
      )}
    >
      {showImage ? (
        <img src={src} alt="" className="size-full object-cover" referrerPolicy="no-referrer" onError={() => setFailed(src)} />
      ) : (
        <span className="text-[0.8em] leading-none">{initials(name, email)}</span>
      )}
    </span>
  );
}
