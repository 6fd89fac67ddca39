import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type ChangeEvent, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { TrashIcon, UploadIcon, UserIcon } from '../../components/icons';
import { Alert, Avatar, Button, Input, Select, useToast } from '../../components/ui';
import { changeLanguage, isSupportedLanguage, supportedLanguages } from '../../i18n';
import { apiFetch } from '../../lib/api';
import { meQuery } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { sortedRegions } from '../../lib/regions';
import { Section, useUpdateMe } from './shared';

const PHOTO_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const PHOTO_MAX_BYTES = 5 * 1024 * 1024;

export function ProfileSection({ me }: { me: Me }) {
  const { t } = useTranslation();
  return (
    <Section id="profile" icon={<UserIcon className="size-5" />} title={t('account.profile.title')} description={t('account.profile.lead')}>
      <div className="space-y-8">
        <PhotoEditor me={me} />
        <ProfileForm me={me} />
        <LanguagePicker me={me} />
      </div>
    </Section>
  );
}

function PhotoEditor({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const fileRef = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string | null>(null);
  const preview = useMemo(() => (file ? URL.createObjectURL(file) : null), [file]);
  useEffect(
    () => () => {
      if (preview) URL.revokeObjectURL(preview);
    },
    [preview],
  );

  const onDone = (next: Me, message: string) => {
    queryClient.setQueryData(meQuery.queryKey, next);
    setFile(null);
    if (fileRef.current) fileRef.current.value = '';
    toast({ title: message, tone: 'success' });
  };
  const upload = useMutation({
    mutationFn: (photo: File) => apiFetch<Me>('/api/me/photo', { method: 'PUT', body: photo, headers: { 'content-type': photo.type } }),
    onSuccess: (next) => onDone(next, t('account.profile.photoSaved')),
    onError: (err) => setError(errorText(err, t, i18n.language)),
  });
  const remove = useMutation({
    mutationFn: () => apiFetch<Me>('/api/me/photo', { method: 'DELETE' }),
    onSuccess: (next) => onDone(next, t('account.profile.photoRemoved')),
    onError: (err) => setError(errorText(err, t, i18n.language)),
  });

  const onPick = (e: ChangeEvent<HTMLInputElement>): void => {
    const picked = e.target.files?.[0];
    setError(null);
    if (!picked) return;
    if (!PHOTO_TYPES.includes(picked.type)) {
      e.target.value = '';
      return setError(t('account.profile.photoType'));
    }
    if (picked.size > PHOTO_MAX_BYTES) {
      e.target.value = '';
      return setError(t('account.profile.photoSize'));
    }
    setFile(picked);
  };

  return (
    <div className="flex flex-col gap-4 sm:flex-row sm:items-center">
      <div className="relative">
        <Avatar src={preview ?? me.image} name={me.name} email={me.email} className="size-20 text-2xl" />
      </div>
      <div className="flex-1 space-y-2">
        <p className="text-sm font-medium text-zinc-800 dark:text-zinc-200" id="photo-label">
          {t('account.profile.photo')}
        </p>
        <p className="text-xs text-zinc-500 dark:text-zinc-400">{file ? t('account.profile.photoPreview') : t('account.profile.photoHint')}</p>
        <input
          ref={fileRef}
          type="file"
          accept={PHOTO_TYPES.join(',')}
          className="sr-only"
          tabIndex={-1}
          aria-labelledby="photo-label"
          onChange={onPick}
          data-testid="photo-input"
        />
        <div className="flex flex-wrap gap-2">
          {file ? (
            <>
              <Button size="sm" onClick={() => upload.mutate(file)} loading={upload.isPending}>
                {t('account.profile.photoSave')}
              </Button>
              <Button size="sm" variant="ghost" onClick={() => (setFile(null), fileRef.current && (fileRef.current.value = ''))} disabled={upload.isPending}>
                {t('account.cancel')}
              </Button>
            </>
          ) : (
            <>
              <Button size="sm" variant="secondary" onClick={() => fileRef.current?.click()}>
                <UploadIcon className="size-4" />
                {me.image ? t('account.profile.photoChange') : t('account.profile.photoUpload')}
              </Button>
              {me.image && (
                <Button size="sm" variant="ghost" onClick={() => remove.mutate()} loading={remove.isPending}>
                  <TrashIcon className="size-4" />
                  {t('account.profile.photoRemove')}
                </Button>
              )}
            </>
          )}
        </div>
        {error && <Alert tone="error">{error}</Alert>}
      </div>
    </div>
  );
}

function ProfileForm({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const [name, setName] = useState(me.name);
  const [region, setRegion] = useState(me.region ?? '');
  const [nameError, setNameError] = useState<string | undefined>();
  const regions = useMemo(() => sortedRegions(i18n.language), [i18n.language]);
  const update = useUpdateMe();
  const dirty = name.trim() !== me.name || region !== (me.region ?? '');

  const onSubmit = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (!name.trim()) return setNameError(t('auth.signUp.errors.name'));
    setNameError(undefined);
    update.mutate({ name: name.trim(), ...(region ? { region } : {}) }, { onSuccess: () => toast({ title: t('account.saved'), tone: 'success' }) });
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <div className="grid gap-4 sm:grid-cols-2">
        <Input
          label={t('auth.fields.name')}
          name="name"
          autoComplete="name"
          maxLength={100}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={nameError}
        />
        <Select label={t('auth.fields.region')} name="region" autoComplete="country" value={region} onChange={(e) => setRegion(e.target.value)}>
          {!me.region && <option value="">{t('auth.fields.regionPlaceholder')}</option>}
          {regions.map((r) => (
            <option key={r.code} value={r.code}>
              {r.name}
            </option>
          ))}
        </Select>
      </div>
      {update.isError && <Alert tone="error">{errorText(update.error, t, i18n.language)}</Alert>}
      <Button type="submit" variant="secondary" loading={update.isPending} disabled={!dirty}>
        {t('account.save')}
      </Button>
    </form>
  );
}

function LanguagePicker({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const update = useUpdateMe();
  const [error, setError] = useState<string | null>(null);

  const onChange = async (e: ChangeEvent<HTMLSelectElement>) => {
    const lng = e.target.value;
    if (!isSupportedLanguage(lng)) return;
    setError(null);
    await changeLanguage(lng); // the UI switches at once; the account remembers it for next time
    update.mutate(
      { language: lng },
      {
        onSuccess: () => toast({ title: i18n.t('account.profile.languageSaved'), tone: 'success' }),
        onError: (err) => setError(errorText(err, t, lng)),
      },
    );
  };

  return (
    <div className="max-w-xs space-y-2">
      <Select
        label={t('language.label')}
        name="language"
        value={isSupportedLanguage(i18n.resolvedLanguage) ? i18n.resolvedLanguage : me.language}
        onChange={(e) => void onChange(e)}
        hint={t('account.profile.languageHint')}
        disabled={update.isPending}
        data-testid="language-select"
      >
        {supportedLanguages.map((lng) => (
          <option key={lng} value={lng} lang={lng}>
            {t(`language.names.${lng}`)}
          </option>
        ))}
      </Select>
      {error && <Alert tone="error">{error}</Alert>}
    </div>
  );
}
