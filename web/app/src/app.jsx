// The page: sign-in until the hub accepts a key, then the header (who, connection, sign out),
// the navigation and the current view.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { checkKey } from './auth.js';
import { session, signIn, signOut, storedKey, rememberedKey } from './session.js';
import { useStore } from './store.js';
import { route, VIEWS, href } from './router.js';
import { live } from './live.js';
import { ConnectionState } from './views/connection.jsx';
import { SignIn } from './views/signin.jsx';
import { Feed } from './views/feed.jsx';
import { Glance } from './views/glance.jsx';
import { DeadLetters } from './views/deadletters.jsx';
import { FraudReviews } from './views/fraud.jsx';
import { Anomalies } from './views/anomalies.jsx';
import { Reconciliation } from './views/reconciliation.jsx';
import { OrderLookup } from './views/orders.jsx';

const VIEW_COMPONENTS = {
  feed: Feed,
  glance: Glance,
  'dead-letters': DeadLetters,
  fraud: FraudReviews,
  anomalies: Anomalies,
  reconciliation: Reconciliation,
  orders: OrderLookup,
};

export function App() {
  const s = useStore(session);
  const [restoring, setRestoring] = useState(() => !!storedKey());
  const [restoreError, setRestoreError] = useState(null);

  // A key remembered on this device (or in this tab) signs in by itself if the hub still takes it.
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    checkKey(key)
      .then((viewer) => signIn(key, viewer, rememberedKey()))
      .catch((err) => {
        if (err instanceof ApiError && err.network) setRestoreError(err);
        else signOut(`The saved API key was refused: ${err.message}`);
      })
      .finally(() => setRestoring(false));
  }, []);

  // The live feed runs while signed in, whatever the view.
  useEffect(() => {
    if (!s) {
      live.stop();
      return;
    }
    live.start(s.key, (reason) => signOut(`The hub closed the live connection: ${reason}. Sign in again.`));
    return () => live.stop();
  }, [s?.key]);

  if (restoring) {
    return <main id="main" class="centered"><p role="status">Checking the saved API key…</p></main>;
  }
  if (!s) return <SignIn networkError={restoreError} />;
  return <Shell session={s} />;
}

function Shell({ session: s }) {
  const r = useStore(route);
  const View = VIEW_COMPONENTS[r.view];
  const first = useRef(true);
  // After a navigation, focus goes to the view's heading (not on the first render).
  useEffect(() => {
    document.title = `${VIEWS.find((v) => v.id === r.view)?.label} · Payhub operations`;
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('view-title')?.focus();
  }, [r.view]);
  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
      <header class="top">
        <div class="brand">Payhub <span>operations</span></div>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a href={href(v.id)} aria-current={r.view === v.id ? 'page' : undefined} data-view={v.id}>{v.label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <ConnectionState />
          <span class="viewer" data-testid="viewer">
            <span class="viewer-name">{s.name}</span> <span class={`role role-${s.role.toLowerCase()}`}>{s.role}</span>
          </span>
          <button type="button" class="sign-out" onClick={() => signOut(null)}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1} data-view={r.view}>
        <View params={r.params} key={r.view} />
      </main>
    </>
  );
}
