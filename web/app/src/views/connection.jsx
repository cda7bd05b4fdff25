import { useEffect, useState } from 'preact/hooks';
import { live } from '../live.js';
import { useStore } from '../store.js';

const LABELS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting', closed: 'Offline' };

// ConnectionState shows the live feed's socket: connecting, live, reconnecting in N s, offline.
// The state word is announced (aria-live); the countdown beside it is not.
export function ConnectionState() {
  const st = useStore(live.status);
  const [, tick] = useState(0);
  useEffect(() => {
    if (st.state !== 'reconnecting' || !st.retryAt) return;
    const t = setInterval(() => tick((n) => n + 1), 500);
    return () => clearInterval(t);
  }, [st.state, st.retryAt]);
  const wait = st.state === 'reconnecting' && st.retryAt ? Math.max(0, Math.ceil((st.retryAt - Date.now()) / 1000)) : 0;
  return (
    <span class="conn" data-testid="connection-state" data-state={st.state} title={st.error || ''}>
      <span class={`dot dot-${st.state}`} aria-hidden="true" />
      <span role="status" aria-live="polite" class="conn-text">{LABELS[st.state]}</span>
      {st.state === 'reconnecting' && (
        <span class="conn-wait" aria-hidden="true">{wait > 0 ? ` in ${wait} s` : '…'}</span>
      )}
      {st.state === 'reconnecting' && wait > 0 && (
        <button type="button" class="link" onClick={() => live.reconnectNow()}>Retry now</button>
      )}
    </span>
  );
}
