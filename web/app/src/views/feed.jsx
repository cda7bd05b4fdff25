// Live feed: payment, fraud and anomaly events as they happen, newest first.
import { Component, createRef } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { live, FEED_CAP } from '../live.js';
import { useStore } from '../store.js';
import { EVENT_KINDS } from '../queries.js';
import { timeOfDay, dateTime } from '../format.js';
import { GatewayOptions, ViewHeader, OrderLink, orderOf, summary } from '../ui.jsx';

// A few words from the payload when the API has no type for the subject (a webhook, ...).
function payloadSummary(ev) {
  const p = ev.payload && typeof ev.payload === 'object' ? ev.payload : {};
  const bits = [];
  for (const k of ['gateway', 'merchantReference', 'reference', 'eventType', 'status', 'kind']) {
    if (p[k] !== undefined && p[k] !== null && typeof p[k] !== 'object') bits.push(`${k} ${p[k]}`);
  }
  return `${ev.subjectType.replace(/_/g, ' ')}${bits.length ? ` · ${bits.join(' · ')}` : ''}`;
}

class FeedRow extends Component {
  el = createRef();
  shouldComponentUpdate(next) {
    return next.ev !== this.props.ev;
  }
  componentDidMount() {
    // data-shown-at: when the row was first on screen (kept if the view is left and come back to).
    const ev = this.props.ev;
    if (!ev.shownAt) ev.shownAt = Date.now();
    this.el.current.setAttribute('data-shown-at', String(ev.shownAt));
  }
  render({ ev }) {
    const order = orderOf(ev.subject);
    return (
      <li ref={this.el} class={`feed-row t-${ev.topic.toLowerCase()}`} data-testid="feed-row" data-event-id={ev.id} data-kind={ev.kind} data-occurred-at={ev.occurredAt} data-topic={ev.topic}>
        <time datetime={ev.occurredAt} title={dateTime(ev.occurredAt)}>{timeOfDay(ev.occurredAt)}</time>
        <span class="topic">{ev.topic.toLowerCase()}</span>
        <span class="kind">{ev.kind}</span>
        <span class="what">
          {summary(ev.subject, payloadSummary(ev))}
          {order && <> · <OrderLink number={order.number} po={order.po}>order {order.number || order.po}</OrderLink></>}
        </span>
      </li>
    );
  }
}

export function Feed() {
  const events = useStore(live.events);
  const status = useStore(live.status);
  const [filters, setFilters] = useState(() => ({ ...live.filters }));
  const [customer, setCustomer] = useState(live.filters.customerCode);
  const debounce = useRef(null);

  const apply = (next) => {
    setFilters(next);
    live.setFilters(next);
  };
  useEffect(() => () => clearTimeout(debounce.current), []);
  const onCustomer = (value) => {
    setCustomer(value);
    clearTimeout(debounce.current);
    debounce.current = setTimeout(() => {
      if (value.trim() !== live.filters.customerCode) apply({ ...live.filters, customerCode: value.trim() });
    }, 700);
  };
  const skipped = live.plan().length < 3;

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Live feed">
        <span class="muted" aria-live="off">{events.length} shown{events.length >= FEED_CAP ? ` (the latest ${FEED_CAP})` : ''}</span>
      </ViewHeader>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); clearTimeout(debounce.current); apply({ ...live.filters, customerCode: customer.trim() }); }}>
        <p>
          <label for="f-gateway">Gateway</label>
          <select id="f-gateway" value={filters.gateway} onChange={(e) => apply({ ...live.filters, gateway: e.currentTarget.value })}>
            <GatewayOptions />
          </select>
        </p>
        <p>
          <label for="f-customer">Customer code</label>
          <input id="f-customer" type="search" value={customer} placeholder="e.g. CUST0001" onInput={(e) => onCustomer(e.currentTarget.value)} />
        </p>
        <p>
          <label for="f-kind">Kind</label>
          <select id="f-kind" value={filters.kind} onChange={(e) => apply({ ...live.filters, kind: e.currentTarget.value })}>
            <option value="">All kinds</option>
            {Object.entries(EVENT_KINDS).map(([topic, kinds]) => (
              <optgroup key={topic} label={topic.toLowerCase()}>
                {kinds.map((k) => <option key={k} value={k}>{k}</option>)}
              </optgroup>
            ))}
          </select>
        </p>
        <p class="filter-actions">
          <button type="submit">Apply</button>
          <button type="button" onClick={() => { setCustomer(''); apply({ gateway: '', customerCode: '', kind: '' }); }}>Clear filters</button>
        </p>
      </form>
      {skipped && (filters.gateway || filters.customerCode) && !filters.kind && (
        <p class="muted">Anomalies belong to no gateway or customer: they are not shown while those filters are set.</p>
      )}
      {status.error && status.state !== 'closed' && <p class="muted conn-error">Last connection problem: {status.error}</p>}
      {events.length === 0 ? (
        <p class="empty">{status.state === 'live' ? 'Waiting for events… (new ones appear here as they happen)' : 'Not connected yet.'}</p>
      ) : (
        <ol class="feed" aria-label="Events, newest first">
          {events.map((ev) => <FeedRow key={ev.id} ev={ev} />)}
        </ol>
      )}
    </section>
  );
}
