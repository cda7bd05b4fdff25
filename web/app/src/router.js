// Hash routing (#/feed, #/orders?q=SO123, ...): the hub serves one page and needs no fallback.
import { Store } from './store.js';

export const VIEWS = [
  { id: 'feed', label: 'Live feed' },
  { id: 'glance', label: 'Today' },
  { id: 'dead-letters', label: 'Dead letters' },
  { id: 'fraud', label: 'Fraud reviews' },
  { id: 'anomalies', label: 'Anomalies' },
  { id: 'reconciliation', label: 'Reconciliation' },
  { id: 'orders', label: 'Order lookup' },
];

function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const view = VIEWS.some((v) => v.id === path) ? path : 'feed';
  return { view, params: Object.fromEntries(new URLSearchParams(query)) };
}

export const route = new Store(parse());

window.addEventListener('hashchange', () => route.set(parse()));

export function href(view, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString() : '';
  return `#/${view}${q ? `?${q}` : ''}`;
}

export function navigate(view, params) {
  location.hash = href(view, params);
}
