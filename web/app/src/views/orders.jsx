// Order lookup: by SYSPRO order number or customer PO number, the whole chain
// payment → order → AR payment → settlement → journal; what is missing says why.
import { useEffect, useRef, useState } from 'preact/hooks';
import { gql } from '../api.js';
import { ORDER_BY_NUMBER, ORDER_BY_REFERENCE } from '../queries.js';
import { money, dateTime, humanize } from '../format.js';
import { href, navigate } from '../router.js';
import { ErrorBox, Status, ViewHeader, useAlive } from '../ui.jsx';

async function lookup(q) {
  const byNumber = (await gql(ORDER_BY_NUMBER, { number: q })).order;
  if (byNumber) return { order: byNumber, by: 'SYSPRO order number' };
  const byPo = (await gql(ORDER_BY_REFERENCE, { po: q })).orderByReference;
  if (byPo) return { order: byPo, by: 'customer PO number' };
  return { order: null };
}

function NotYet({ children }) {
  return <p class="not-yet"><strong>Not yet:</strong> {children}</p>;
}

function Step({ title, state, children }) {
  return (
    <li class={`step step-${state}`}>
      <h3><span class="step-mark" aria-hidden="true" />{title}</h3>
      <div class="step-body">{children}</div>
    </li>
  );
}

function Posting({ p }) {
  return (
    <div class="posting">
      <Status value={p.status} /> {humanize(p.kind)}
      {p.sysproReference && <> · SYSPRO reference <strong>{p.sysproReference}</strong></>}
      {p.succeededAt && <span class="muted"> · {dateTime(p.succeededAt)}</span>}
      {p.lastError && (
        <p class={p.status === 'DEAD' ? 'bad' : 'muted'}>
          {p.status === 'DEAD' ? 'Dead: ' : 'Last error: '}{p.lastError}{p.sysproErrorNumber ? ` (SYSPRO error ${p.sysproErrorNumber})` : ''}
          {p.status === 'DEAD' && <> — <a href={href('dead-letters')}>repost it from the dead-letter queue</a></>}
        </p>
      )}
    </div>
  );
}

const IN_SYSPRO = ['OPEN', 'IN_WAREHOUSE', 'TO_INVOICE', 'COMPLETE'];
const TAKEN = ['CAPTURED', 'SETTLED', 'PARTIALLY_REFUNDED', 'REFUNDED'];

function whyNoOrderNumber(o) {
  switch (o.status) {
    case 'ON_HOLD': return `the order is on hold${o.holdReason ? ` (${o.holdReason})` : ''}; it goes to SYSPRO once released.`;
    case 'RECEIVED': return 'the hub has the order and has not sent it to SYSPRO yet.';
    case 'POSTING': return 'the order is being added to SYSPRO right now.';
    case 'FAILED': return 'SYSPRO refused the order: see its posting below and the dead-letter queue.';
    case 'CANCELLED': return 'the order was cancelled before SYSPRO numbered it.';
    default: return 'SYSPRO has not numbered the order yet.';
  }
}

function Chain({ order: o }) {
  const salesPostings = o.erpPostings.filter((p) => p.kind === 'SALES_ORDER' || p.kind === 'ORDER_STATUS');
  const payments = o.payments;
  const arPostings = payments.flatMap((p) => p.erpPostings.filter((e) => e.kind === 'AR_PAYMENT').map((e) => ({ ...e, payment: p })));
  const lines = payments.flatMap((p) => p.settlementLines.map((l) => ({ ...l, payment: p })));
  const batches = [...new Map(lines.map((l) => [l.batch.id, l.batch])).values()];
  const taken = payments.some((p) => TAKEN.includes(p.status));
  const inSyspro = !!o.number || IN_SYSPRO.includes(o.status);

  return (
    <ol class="chain" aria-label="The order's chain">
      <Step title="Payment" state={payments.length ? 'done' : 'missing'}>
        {payments.length === 0 ? <NotYet>No payment is linked to this order (an order placed without one, or its payment not recorded yet).</NotYet> : (
          <ul class="plain">
            {payments.map((p) => (
              <li key={p.id} data-testid="chain-payment">
                <strong>{p.merchantReference}</strong> · {p.gateway} {humanize(p.kind)} · {money(p.amount)} · <Status value={p.status} />
                {p.card && <span class="muted"> · {p.card.brand || 'card'} •••• {p.card.lastFour}</span>}
                <span class="muted"> · {dateTime(p.occurredAt)}</span>
                {p.fraudReview && <div class="muted">Fraud review: {humanize(p.fraudReview.status)} ({p.fraudReview.gatewayDecision}{p.fraudReview.score != null ? `, score ${p.fraudReview.score}` : ''}) — <a href={href('fraud')}>fraud reviews</a></div>}
                {p.refunds.length > 0 && <div class="muted">Refunds: {p.refunds.map((r) => `${money(r.amount)} ${humanize(r.status)}${r.sysproCreditNote ? ` (credit note ${r.sysproCreditNote})` : ''}`).join('; ')}</div>}
              </li>
            ))}
          </ul>
        )}
      </Step>
      <Step title="Sales order in SYSPRO" state={o.number ? 'done' : o.status === 'FAILED' || o.status === 'CANCELLED' ? 'bad' : 'missing'}>
        <p data-testid="chain-order">
          {o.number ? <>SYSPRO order <strong data-testid="order-number">{o.number}</strong></> : 'No SYSPRO order number'} · PO {o.customerPoNumber} · <Status value={o.status} />
          {o.sysproStatus && <span class="muted"> (SYSPRO status {o.sysproStatus})</span>} · {money(o.total)}
          {o.customer && <span class="muted"> · {o.customer.code} {o.customer.name}</span>}
        </p>
        {o.holdReason && <p>Held: {o.holdReason}</p>}
        {!o.number && <NotYet>{whyNoOrderNumber(o)}</NotYet>}
        {salesPostings.map((p) => <Posting key={p.id} p={p} />)}
      </Step>
      <Step title="AR payment in SYSPRO" state={arPostings.some((p) => p.status === 'SUCCEEDED') ? 'done' : arPostings.some((p) => p.status === 'DEAD') ? 'bad' : 'missing'}>
        {arPostings.length === 0 ? (
          <NotYet>
            {!taken ? 'the payment has not been taken yet (an authorisation is posted once captured).'
              : !inSyspro ? 'the AR payment is posted once SYSPRO has the order.'
              : 'no AR payment posting has been queued for this payment yet.'}
          </NotYet>
        ) : arPostings.map((p) => <Posting key={p.id} p={p} />)}
      </Step>
      <Step title="Settlement" state={batches.length ? 'done' : 'missing'}>
        {lines.length === 0 ? (
          <NotYet>
            {!taken ? 'only money taken is settled.' : 'the gateway settles a day\'s payments in its batch after the day is over; reconciliation matches them then.'}
          </NotYet>
        ) : (
          <ul class="plain">
            {lines.map((l) => (
              <li key={`${l.batch.id}/${l.lineNumber}`}>
                {l.payment.merchantReference}: line {l.lineNumber} of {l.batch.gateway} batch <a href={href('reconciliation', { gateway: l.batch.gateway, date: l.batch.batchDate })}>{l.batch.batchId}</a> ({l.batch.batchDate}) · {money(l.amount)} · {humanize(l.matchStatus)} · batch <Status value={l.batch.status} />
              </li>
            ))}
          </ul>
        )}
      </Step>
      <Step title="GL journal in SYSPRO" state={batches.some((b) => b.journal?.status === 'POSTED') ? 'done' : batches.some((b) => b.journal?.status === 'FAILED') ? 'bad' : 'missing'}>
        {batches.length === 0 ? <NotYet>a journal follows once the payment is settled and its batch reconciled.</NotYet> : batches.map((b) => (
          <div key={b.id}>
            {b.journal ? (
              <p>
                Batch {b.batchId}: journal <Status value={b.journal.status} />
                {b.journal.sysproJournalNumber && <> · SYSPRO journal <strong>{b.journal.sysproJournalNumber}</strong>{b.journal.sysproYear ? ` (${b.journal.sysproYear}/${b.journal.sysproPeriod})` : ''}</>}
                {b.journal.reference && <span class="muted"> · {b.journal.reference}</span>}
                {b.journal.lastError && <span class="bad"> · {b.journal.lastError}</span>}
              </p>
            ) : (
              <NotYet>batch {b.batchId} is {humanize(b.status)}: it is journaled once matched or accepted{b.status === 'MISMATCHED' ? ' — see its discrepancies in Reconciliation' : ''}.</NotYet>
            )}
          </div>
        ))}
      </Step>
    </ol>
  );
}

export function OrderLookup({ params }) {
  const [text, setText] = useState(params.q || '');
  const [state, setState] = useState({ loading: false, error: null, result: null, q: '' });
  const alive = useAlive();
  const seq = useRef(0);

  // A lookup overtaken by a newer one (or the view's end) is dropped.
  const run = async (q) => {
    if (!q) return;
    const n = ++seq.current;
    const settle = (next) => alive.current && n === seq.current && setState(next);
    setState({ loading: true, error: null, result: null, q });
    try {
      settle({ loading: false, error: null, result: await lookup(q), q });
    } catch (error) {
      settle({ loading: false, error, result: null, q });
    }
  };
  useEffect(() => {
    setText(params.q || '');
    if (params.q) run(params.q);
  }, [params.q]); // eslint-disable-line react-hooks/exhaustive-deps

  const submit = (e) => {
    e.preventDefault();
    const q = text.trim();
    if (q === params.q) run(q);
    else navigate('orders', { q });
  };

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Order lookup" loading={state.loading} />
      <form class="filters lookup" onSubmit={submit} role="search">
        <p class="grow">
          <label for="order-q">SYSPRO order number or customer PO number</label>
          <input id="order-q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="e.g. 000123 or DEMO-ABCDE-0001" required />
        </p>
        <p class="filter-actions"><button type="submit" class="primary">Look up</button></p>
      </form>
      <ErrorBox error={state.error} title="The lookup failed" />
      {state.result && !state.result.order && <p class="empty" role="status">No order has the SYSPRO number or customer PO number “{state.q}”.</p>}
      {state.result?.order && (
        <div data-testid="order-chain">
          <p class="muted" role="status">Found by {state.result.by} “{state.q}”; ordered {dateTime(state.result.order.orderedAt)}.</p>
          <Chain order={state.result.order} />
        </div>
      )}
    </section>
  );
}
