// The live feed: payment, fraud and anomaly events over one graphql-ws client (protocol
// graphql-transport-ws) on /graphql.
//
// Opening. When the feed starts, and whenever the filters change, it has no cursor yet: it first
// reads the newest events the filters take (the recentEvents query, over HTTP), shows them, and
// then subscribes every topic with `after` = the cursor that read returned, which is where the
// log stood when it was read. The subscriptions deliver exactly what came after it, those of
// transactions still running during the read included, so nothing falls between the read and
// the live events and nothing shows twice. If the read fails, the feed goes on from now.
//
// Resuming. Each topic's last `cursor` is kept. The client's own reconnection would resubscribe
// with the variables of the first subscribe, so it is switched off (retryAttempts 0) and this
// module reconnects itself: when the socket closes it waits (1 s, 2 s, 4 s, ... 30 s, shown as
// "reconnecting in N s"), opens a new socket and subscribes every topic again with `after` = that
// topic's last cursor, so nothing is missed. A subscription the server ends with
// SUBSCRIBER_TOO_SLOW or SHUTTING_DOWN is resubscribed from the cursor its error names. Events
// are de-duplicated by id, so nothing shows twice.
import { createClient } from 'graphql-ws/client';
import { gql } from './api.js';
import { Store } from './store.js';
import { EVENT_KINDS, RECENT_EVENTS, SUBSCRIPTIONS } from './queries.js';

export const FEED_CAP = 500; // rows kept in the feed
const HISTORY_SIZE = 100; // recent events shown when the feed opens
const SEEN_CAP = 5000; // event ids remembered for de-duplication
const MAX_BACKOFF_S = 30;
const SILENCE_LIMIT_MS = 45_000; // the server pings every 15 s: this long without a word, the socket is dead
const TOPICS = ['PAYMENT', 'FRAUD', 'ANOMALY'];

function wsURL() {
  const u = new URL('graphql', document.baseURI);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

export function topicOfKind(kind) {
  return TOPICS.find((t) => EVENT_KINDS[t].includes(kind)) || null;
}

export class LiveFeed {
  constructor() {
    // state: connecting | live | reconnecting | closed; retryAt: when the next attempt starts.
    this.status = new Store({ state: 'closed', retryAt: null, attempt: 0, error: null });
    this.events = new Store([]); // newest first
    this.filters = { gateway: '', customerCode: '', kind: '' };
    this.cursors = {}; // topic -> cursor of the last event received
    this.seen = new Set();
    this.listeners = new Set(); // called with each new event (whatever the view)
    this.key = null;
    this.client = null;
    this.generation = 0; // bumped per socket: callbacks of an older one are ignored
    this.subs = {}; // topic -> { token, dispose }
    this.subToken = 0;
    this.needHistory = false; // no cursor yet: read the recent events before subscribing
    this.historyToken = 0; // bumped per read of the recent events: an older read's answer is ignored
    this.retired = []; // subscriptions of the old filters, kept (ignored) until the new ones are on
    this.timer = null;
    this.watchdog = null;
    this.lastHeard = 0;
    this.attempt = 0;
  }

  onEvent(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(key, onRefused) {
    this.stop();
    this.key = key;
    this.onRefused = onRefused;
    this.attempt = 0;
    this.needHistory = true;
    this.connect();
  }

  stop() {
    this.key = null;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    this.generation++;
    this.historyToken++;
    this.needHistory = false;
    this.disposeClient();
    this.cursors = {};
    this.seen.clear();
    this.events.set([]);
    this.status.set({ state: 'closed', retryAt: null, attempt: 0, error: null });
  }

  // setFilters starts the feed again with the new filters: the rows shown so far were chosen by
  // the old ones, so the list starts again from the recent events the new ones take, and every
  // topic is subscribed anew from there.
  setFilters(filters) {
    this.filters = { ...filters };
    this.events.set([]);
    this.cursors = {};
    this.seen.clear();
    this.needHistory = true;
    this.historyToken++; // a read for the old filters still under way is of no use
    if (!this.client) return; // the reconnect reads them
    // The old subscriptions are disposed of once the new ones are on, so that the socket stays
    // open meanwhile; what they still deliver is ignored (they are no longer in this.subs).
    this.retired.push(...Object.values(this.subs));
    this.subs = {};
    this.subscribeAll(this.generation);
  }

  // The topics the filters leave something to show in, with each one's filter.
  plan() {
    const f = this.filters;
    const kindTopic = f.kind ? topicOfKind(f.kind) : null;
    const out = [];
    for (const topic of TOPICS) {
      if (kindTopic && kindTopic !== topic) continue;
      // Anomalies belong to no gateway or customer.
      if (topic === 'ANOMALY' && (f.gateway || f.customerCode)) continue;
      const filter = {};
      if (f.kind) filter.kinds = [f.kind];
      if (topic !== 'ANOMALY') {
        if (f.gateway) filter.gateway = f.gateway;
        if (f.customerCode) filter.customerCode = f.customerCode;
      }
      out.push({ topic, filter: Object.keys(filter).length ? filter : null });
    }
    return out;
  }

  connect() {
    const gen = ++this.generation;
    const reconnecting = this.attempt > 0;
    this.status.set({ state: reconnecting ? 'reconnecting' : 'connecting', retryAt: null, attempt: this.attempt, error: this.status.get().error });
    const key = this.key;
    this.client = createClient({
      url: wsURL(),
      connectionParams: () => ({ authorization: `Bearer ${key}` }),
      lazy: true,
      lazyCloseTimeout: 3000,
      retryAttempts: 0,
      on: {
        connected: () => {
          if (gen !== this.generation) return;
          this.attempt = 0;
          this.heard();
          this.status.set({ state: 'live', retryAt: null, attempt: 0, error: null });
        },
        message: () => gen === this.generation && this.heard(),
        ping: (received) => received && gen === this.generation && this.heard(),
        closed: (ev) => {
          if (gen !== this.generation) return;
          this.closed(ev);
        },
      },
    });
    this.subs = {};
    this.subscribeAll(gen);
    clearInterval(this.watchdog);
    this.lastHeard = Date.now();
    this.watchdog = setInterval(() => {
      if (gen === this.generation && this.status.get().state === 'live' && Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        this.client?.terminate(); // emits closed (4499): reconnect
      }
    }, 5000);
  }

  heard() {
    this.lastHeard = Date.now();
  }

  disposeClient() {
    const c = this.client;
    this.client = null;
    this.subs = {};
    this.retired = []; // the client's end ends them
    if (c) c.dispose().catch(() => {}); // a socket that never opened rejects: nothing to close
  }

  closed(ev) {
    const code = ev && typeof ev.code === 'number' ? ev.code : 0;
    this.generation++; // whatever the old client does next is ignored
    clearInterval(this.watchdog);
    this.disposeClient();
    if (!this.key) return;
    if (code === 4401 || code === 4403) {
      // The hub refused the key (revoked, or not allowed): no point in retrying.
      this.status.set({ state: 'closed', retryAt: null, attempt: 0, error: ev.reason || 'The hub refused the API key.' });
      this.onRefused?.(ev.reason || 'The hub refused the API key.');
      return;
    }
    this.scheduleReconnect(ev?.reason ? `connection closed (${code}: ${ev.reason})` : `connection lost${code ? ` (${code})` : ''}`);
  }

  scheduleReconnect(why) {
    this.attempt++;
    const base = Math.min(2 ** (this.attempt - 1), MAX_BACKOFF_S);
    const delay = Math.round(base * 1000 * (0.8 + Math.random() * 0.4));
    const retryAt = Date.now() + delay;
    this.status.set({ state: 'reconnecting', retryAt, attempt: this.attempt, error: why });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.key && this.connect(), delay);
  }

  // reconnectNow skips the wait (the "Retry now" button).
  reconnectNow() {
    if (!this.key || this.status.get().state !== 'reconnecting') return;
    clearTimeout(this.timer);
    this.connect();
  }

  subscribeAll(gen) {
    if (this.needHistory) {
      this.loadHistory(gen); // subscribes once it has read
      return;
    }
    for (const { topic, filter } of this.plan()) this.subscribe(gen, topic, filter);
    const old = this.retired;
    this.retired = [];
    for (const s of old) s.dispose();
  }

  // loadHistory reads the newest events the filters take, shows them, and subscribes every topic
  // from the cursor of that read (see "Opening" above).
  async loadHistory(gen) {
    const token = ++this.historyToken;
    const plan = this.plan();
    const f = this.filters;
    const filter = {};
    if (f.kind) filter.kinds = [f.kind];
    if (f.gateway) filter.gateway = f.gateway;
    if (f.customerCode) filter.customerCode = f.customerCode;
    const variables = { topics: plan.map((p) => p.topic), last: HISTORY_SIZE, filter: Object.keys(filter).length ? filter : null };
    let recent = null;
    let failure = null;
    try {
      recent = (await gql(RECENT_EVENTS, variables, { key: this.key })).recentEvents;
    } catch (err) {
      failure = err;
    }
    // Superseded: the filters changed, the feed stopped, or another socket took over (which reads
    // again).
    if (token !== this.historyToken || gen !== this.generation || !this.key) return;
    this.needHistory = false;
    if (recent) {
      for (const { topic } of plan) this.cursors[topic] = recent.cursor;
      this.showHistory(recent.events);
    } else {
      this.status.set({ ...this.status.get(), error: `recent events: ${failure?.message || 'no answer'} (the feed shows new events only)` });
    }
    this.subscribeAll(gen);
  }

  // showHistory adds the rows of the recent events (oldest first) below whatever is shown. They
  // are not news: the listeners are not told of them; each row's shownAt is still when it is
  // first on screen.
  showHistory(evs) {
    const rows = [];
    for (let i = evs.length - 1; i >= 0; i--) {
      const ev = evs[i];
      if (this.seen.has(ev.id)) continue;
      this.remember(ev.id);
      rows.push({ ...ev, shownAt: 0 });
    }
    if (rows.length) this.events.set([...this.events.get(), ...rows].slice(0, FEED_CAP));
  }

  subscribe(gen, topic, filter) {
    const client = this.client;
    if (!client) return;
    const token = ++this.subToken;
    const { field, query } = SUBSCRIPTIONS[topic];
    const current = () => gen === this.generation && this.subs[topic]?.token === token;
    const dispose = client.subscribe(
      { query, variables: { after: this.cursors[topic] ?? null, filter } },
      {
        next: (result) => {
          if (!current()) return;
          if (result.errors?.length) {
            this.reportError(topic, result.errors);
          }
          const ev = result.data?.[field];
          if (ev) this.receive(topic, ev);
        },
        error: (err) => {
          if (!current()) return;
          if (Array.isArray(err)) this.subscriptionEnded(gen, topic, filter, err);
          // A CloseEvent or socket error: `closed` reconnects everything.
        },
        complete: () => {
          // Ours end by being replaced or by the socket's end, which `current` leaves out; a
          // stream the server completed on its own is picked up again from its cursor.
          if (!current()) return;
          delete this.subs[topic];
          setTimeout(() => {
            if (gen === this.generation && !this.subs[topic]) this.subscribe(gen, topic, filter);
          }, 1000);
        },
      },
    );
    this.subs[topic] = { token, dispose };
  }

  // subscriptionEnded handles a subscription the server ended with GraphQL errors.
  subscriptionEnded(gen, topic, filter, errors) {
    const e = errors[0] || {};
    const code = e.extensions?.code;
    if (code === 'SUBSCRIBER_TOO_SLOW' || code === 'SHUTTING_DOWN') {
      if (e.extensions?.cursor) this.cursors[topic] = e.extensions.cursor;
      delete this.subs[topic];
      // Slow: pick up again from the cursor at once. Shutting down: the socket closes next and
      // the reconnect resubscribes; if it does not, resubscribe here after a moment.
      setTimeout(() => {
        if (gen === this.generation && !this.subs[topic]) this.subscribe(gen, topic, filter);
      }, code === 'SUBSCRIBER_TOO_SLOW' ? 0 : 2000);
      return;
    }
    if (code === 'UNAUTHENTICATED') {
      this.onRefused?.(e.message);
      return;
    }
    this.reportError(topic, errors);
    if (code === 'BAD_USER_INPUT' && this.cursors[topic] && /\bafter\b/.test(e.message || '')) {
      // The hub does not know the cursor any more (its log was reset): go on from now.
      delete this.cursors[topic];
      delete this.subs[topic];
      setTimeout(() => {
        if (gen === this.generation && !this.subs[topic]) this.subscribe(gen, topic, filter);
      }, 1000);
    }
  }

  reportError(topic, errors) {
    const msg = errors.map((e) => `${e.extensions?.code ? `${e.extensions.code}: ` : ''}${e.message}`).join('; ');
    this.status.set({ ...this.status.get(), error: `${topic.toLowerCase()} events: ${msg}` });
  }

  receive(topic, ev) {
    this.cursors[topic] = ev.cursor;
    if (this.seen.has(ev.id)) return;
    this.remember(ev.id);
    const row = { ...ev, shownAt: 0 };
    const list = this.events.get();
    const next = list.length >= FEED_CAP ? [row, ...list.slice(0, FEED_CAP - 1)] : [row, ...list];
    this.events.set(next);
    for (const l of this.listeners) l(row);
  }

  // remember adds an event id to those seen, forgetting the oldest beyond SEEN_CAP.
  remember(id) {
    this.seen.add(id);
    if (this.seen.size > SEEN_CAP) {
      const drop = this.seen.size - SEEN_CAP;
      let i = 0;
      for (const old of this.seen) {
        if (i++ >= drop) break;
        this.seen.delete(old);
      }
    }
  }
}

export const live = new LiveFeed();
