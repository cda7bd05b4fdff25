import { useEffect, useState } from 'preact/hooks';
import { signIn, signInNotice } from '../session.js';
import { useStore } from '../store.js';
import { ApiError } from '../api.js';
import { ErrorBox, Notice } from '../ui.jsx';
import { checkKey } from '../auth.js';

// SignIn asks for an API key and checks it with { viewer { name role } }.
export function SignIn({ networkError }) {
  const notice = useStore(signInNotice);
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(networkError || null);
  useEffect(() => {
    document.title = 'Sign in · Payhub operations';
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    const k = key.trim();
    if (!k || busy) return;
    setBusy(true);
    setError(null);
    try {
      const viewer = await checkKey(k);
      signIn(k, viewer, remember);
    } catch (err) {
      if (err instanceof ApiError && err.has('UNAUTHENTICATED')) {
        setError(new ApiError(err.errors.map((x) => ({ ...x, message: `The hub does not accept this API key: ${x.message}` }))));
      } else {
        setError(err);
      }
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title" autocomplete="off">
        <h1 id="sign-in-title">Payhub operations</h1>
        <p class="muted">Sign in with a Payhub API key (DASHBOARD reads; FINANCE also acts). <code>hub demo</code> prints one.</p>
        {notice && <Notice kind="warn">{notice}</Notice>}
        <p>
          <label for="api-key">API key</label>
          <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} required value={key} onInput={(e) => setKey(e.currentTarget.value)} autoFocus />
        </p>
        <p class="check">
          <input id="remember" type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} />
          <label for="remember">Remember on this device</label>
        </p>
        <ErrorBox error={error} title="Could not sign in" />
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
