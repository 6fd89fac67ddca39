import { useId, type ReactNode, type Ref } from 'react';
import { useTranslation } from 'react-i18next';
import type { GenerationMode } from '../../../../shared/catalog/vocabulary';
import { cn } from '../../../lib/cn';

/** The composer's chip pickers: the model's modes and the aspect ratios. */

/** Which way a frame of this ratio faces. */
function orientationKey(ratio: string): 'landscape' | 'portrait' | 'square' {
  const [w, h] = ratio.split(':').map(Number);
  if (!w || !h || w === h) return 'square';
  return w > h ? 'landscape' : 'portrait';
}

/** A row of radio chips with a legend and an error line (modes, aspect ratios). */
function ChipRadioGroup<T extends string>({
  legend,
  options,
  value,
  onChange,
  error,
  checkedRef,
  testId,
  chipClassName,
  children,
}: {
  legend: string;
  options: readonly T[];
  value: T;
  onChange: (value: T) => void;
  error?: string;
  checkedRef: Ref<HTMLInputElement>;
  testId: string;
  chipClassName: string;
  children: (option: T) => ReactNode;
}) {
  const name = useId();
  const errorId = `${name}-error`;
  return (
    <fieldset aria-describedby={error ? errorId : undefined} data-testid={testId}>
      <legend className="mb-1.5 text-sm font-medium text-zinc-800 dark:text-zinc-200">{legend}</legend>
      <div className="flex flex-wrap gap-2">
        {options.map((option) => {
          const checked = option === value;
          return (
            <label
              key={option}
              className={cn(
                'inline-flex cursor-pointer items-center rounded-lg border px-3 text-sm font-medium transition-colors',
                chipClassName,
                'has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-offset-2 has-[input:focus-visible]:outline-brand-500',
                checked
                  ? 'border-brand-500 bg-brand-50 text-brand-800 ring-1 ring-brand-500 dark:border-brand-400 dark:bg-brand-950/50 dark:text-brand-100 dark:ring-brand-400'
                  : 'border-zinc-300 bg-white text-zinc-700 hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300 dark:hover:bg-zinc-800',
                error && !checked && 'border-red-500 dark:border-red-400',
              )}
            >
              <input
                ref={checked ? checkedRef : undefined}
                type="radio"
                name={name}
                value={option}
                checked={checked}
                onChange={() => onChange(option)}
                aria-invalid={error ? true : undefined}
                className="sr-only"
              />
              {children(option)}
            </label>
          );
        })}
      </div>
      {error && (
        <p id={errorId} className="mt-1.5 text-xs font-medium text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** The model's modes as radio chips: text only, from an image, first and last frame, references. */
export function ModePicker(props: {
  modes: GenerationMode[];
  value: GenerationMode;
  onChange: (mode: GenerationMode) => void;
  error?: string;
  checkedRef: Ref<HTMLInputElement>;
}) {
  const { t } = useTranslation();
  const { modes, ...rest } = props;
  return (
    <ChipRadioGroup legend={t('studio.fields.mode')} options={modes} testId="mode-picker" chipClassName="min-h-10 py-1.5" {...rest}>
      {(m) => t(`generation.mode.${m}`)}
    </ChipRadioGroup>
  );
}

/** The frame's shape, drawn: a small outline box in the ratio's proportions. */
function RatioShape({ ratio }: { ratio: string }) {
  const [w = 1, h = 1] = ratio.split(':').map(Number);
  const scale = 16 / Math.max(w, h);
  return (
    <span className="flex size-5 items-center justify-center" aria-hidden="true">
      <span className="rounded-[3px] border-[1.5px] border-current" style={{ width: `${Math.max(6, w * scale)}px`, height: `${Math.max(6, h * scale)}px` }} />
    </span>
  );
}

/** Aspect ratios as a row of radio chips, each showing the frame's shape. */
export function AspectRatioPicker(props: {
  ratios: string[];
  value: string;
  onChange: (ratio: string) => void;
  error?: string;
  checkedRef: Ref<HTMLInputElement>;
}) {
  const { t } = useTranslation();
  const { ratios, ...rest } = props;
  return (
    <ChipRadioGroup legend={t('studio.fields.aspectRatio')} options={ratios} testId="aspect-ratio" chipClassName="h-10 gap-2 tabular-nums" {...rest}>
      {(r) => (
        <>
          <RatioShape ratio={r} />
          <span>{r}</span>
          <span className="sr-only">{t(`studio.fields.orientation.${orientationKey(r)}`)}</span>
        </>
      )}
    </ChipRadioGroup>
  );
}
