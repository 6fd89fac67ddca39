import { apiFetch } from '../../lib/api';

/** Start "Continue with Google": the server answers with Google's URL, and the browser goes there. */
export async function startGoogleSignIn(): Promise<void> {
  const { url } = await apiFetch<{ url: string; redirect: boolean }>('/api/auth/sign-in/social', {
    method: 'POST',
    body: { provider: 'google', callbackURL: '/account', errorCallbackURL: '/sign-in', newUserCallbackURL: '/account' },
  });
  window.location.href = url;
}
