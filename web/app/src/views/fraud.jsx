// Fraud reviews: payments the gateways' screening held; details, then Accept or Reject.
import { useEffect, useState } from 'preact/hooks';
import { gql, mutate, sleep, withIdempotencyKey } from '../api.js';
import { FRAUD_REVIEWS, DECIDE_REVIEW, PAYMENT_STATUS } from '../queries.js';
import { money, dateTime, ago, humanize } from '../format.js';
import { ConfirmDialog, ErrorBox, FinanceButton, GatewayOptions, LoadMore, Notice, OrderLink, ReadOnlyNote, Status, TableWrap, ViewHeader, orderOf, useAlive, usePagedList } from '../ui.jsx';

const STATUSES = ['OPEN', 'ACCEPTED', 'REJECTED', 'EXPIRED'];
const PAGE = 50;
// Payment statuses a decision is still on its way out of.
const UNSETTLED = ['REVIEW', 'PENDING', 'UNKNOWN'];

function Details({ r }) {
  const p = r.payment;
  const card = p.card ? `${p.card.brand || 'card'} •••• ${p.card.lastFour || '????'}${p.card.expiryMonth ? ` (exp. ${String(p.card.expiryMonth).padStart(2, '0')}/${p.card.expiryYear})` : ''}` : '—';
  return (
    <dl class="details">
      <dt>Payment</dt><dd>{p.merchantReference} · {p.gateway} {humanize(p.kind)} · <Status value={p.status} /> <span class="muted">({p.gatewayStatus})</span></dd>
      <dt>Amount</dt><dd>{money(p.amount)}</dd>
      <dt>Card</dt><dd>{card}</dd>
      <dt>AVS</dt><dd>{p.avsResult || '—'}</dd>
      <dt>CVC</dt><dd>{p.cvcResult || '—'}</dd>
      <dt>3-D Secure</dt><dd>{p.threeDSecureStatus || '—'}</dd>
      <dt>Score</dt><dd>{r.score ?? p.risk?.score ?? '—'}{p.risk?.decision ? ` (gateway risk decision ${p.risk.decision})` : ''}</dd>
      <dt>Screening said</dt><dd>{r.gatewayDecision}</dd>
      <dt>Reasons</dt><dd>{r.reasons.length ? <ul class="reasons">{r.reasons.map((x) => <li key={x}>{x}</li>)}</ul> : '—'}</dd>
      <dt>Customer</dt><dd>{p.customer ? `${p.customer.code} · ${p.customer.name}` : '—'}</dd>
      <dt>Order</dt><dd>{p.order ? <OrderLink number={p.order.number} po={p.order.customerPoNumber}>{p.order.number || p.order.customerPoNumber} ({humanize(p.order.status)})</OrderLink> : '—'}</dd>
      {r.decidedBy && <><dt>Decided</dt><dd>{r.decidedBy}, {dateTime(r.decidedAt)}{r.note ? ` — “${r.note}”` : ''}</dd></>}
    </dl>
  );
}

export function FraudReviews() {
  const [status, setStatus] = useState('OPEN');
  const [gateway, setGateway] = useState('');
  const [open, setOpen] = useState({}); // review id -> details shown
  const [deciding, setDeciding] = useState(null); // { review, decision }
  const [outcomes, setOutcomes] = useState({}); // review id -> { text, paymentStatus, kind }
  const alive = useAlive();
  const { list, setList, load } = usePagedList(
    async (after) => {
      const filter = { status: [status], ...(gateway ? { gateway } : {}) };
      return (await gql(FRAUD_REVIEWS, { filter, first: PAGE, after })).fraudReviews;
    },
    // Reviews decided here stay in view (with their outcome) until the next refresh.
    (old, nodes, more) => (more ? [...old, ...nodes] : [...nodes, ...old.filter((n) => outcomes[n.id] && !nodes.some((x) => x.id === n.id))]),
  );
  useEffect(() => {
    setOutcomes({});
    setList((l) => ({ ...l, nodes: [] }));
    load(false);
  }, [status, gateway]); // eslint-disable-line react-hooks/exhaustive-deps

  const replace = (review) => setList((l) => ({ ...l, nodes: l.nodes.map((n) => (n.id === review.id ? review : n)) }));

  const decide = async (comment) => {
    const { review, decision } = deciding;
    const input = { id: review.id, decision, ...(comment ? { comment } : {}) };
    const out = await withIdempotencyKey(`decide:${review.id}:${decision}:${comment}`, (key) => mutate(DECIDE_REVIEW, { idempotencyKey: key, ...input }));
    setDeciding(null);
    const r = out.fraudReview;
    replace(r);
    const verb = decision === 'ACCEPT' ? 'Accepted' : 'Rejected';
    const say = (ps, extra = '') => alive.current && setOutcomes((m) => ({ ...m, [r.id]: { text: `${verb} ${r.payment.merchantReference}: the payment is now ${ps}${extra}.`, paymentStatus: ps, kind: decision === 'ACCEPT' ? 'ok' : 'warn' } }));
    say(r.payment.status);
    // The gateway's answer may follow the decision: watch the payment until it settles down.
    let ps = r.payment.status;
    for (let i = 0; i < 20 && UNSETTLED.includes(ps) && alive.current; i++) {
      await sleep(1000);
      const p = (await gql(PAYMENT_STATUS, { id: r.payment.id }).catch(() => null))?.payment;
      if (!p) break;
      ps = p.status;
      say(ps, p.order ? `; order ${p.order.number || ''} ${humanize(p.order.status)}` : '');
      replace({ ...r, payment: { ...r.payment, status: ps, gatewayStatus: p.gatewayStatus } });
    }
  };

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Fraud reviews" loading={list.loading}>
        <span class="muted">{list.total} {humanize(status)}</span>
        <button type="button" onClick={() => load(false)}>Refresh</button>
      </ViewHeader>
      <ReadOnlyNote />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <p>
          <label for="fr-status">Status</label>
          <select id="fr-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {STATUSES.map((s) => <option key={s} value={s}>{humanize(s)}</option>)}
          </select>
        </p>
        <p>
          <label for="fr-gateway">Gateway</label>
          <select id="fr-gateway" value={gateway} onChange={(e) => setGateway(e.currentTarget.value)}>
            <GatewayOptions />
          </select>
        </p>
      </form>
      <ErrorBox error={list.error} title="Could not load fraud reviews" />
      {list.nodes.length === 0 && !list.loading && !list.error ? (
        <p class="empty">No {humanize(status)} fraud reviews.</p>
      ) : (
        <TableWrap label="Fraud reviews">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Held</th>
                <th scope="col">Payment</th>
                <th scope="col">Amount</th>
                <th scope="col">Screening</th>
                <th scope="col">Review</th>
                <th scope="col">Payment status</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.nodes.map((r) => {
                const o = outcomes[r.id];
                const order = orderOf(r);
                const detailsId = `fr-details-${r.id}`;
                return [
                  <tr key={r.id} data-testid="fraud-review-row" data-id={r.id} data-status={r.status}>
                    <td data-label="Held"><span title={dateTime(r.createdAt)}>{ago(r.createdAt)}</span></td>
                    <td data-label="Payment">
                      {r.payment.merchantReference}<br />
                      <span class="muted">{r.gateway}{r.payment.card?.lastFour ? ` · ${r.payment.card.brand || ''} ${r.payment.card.lastFour}` : ''}</span>
                      {order && <><br /><OrderLink number={order.number} po={order.po}>order {order.number || order.po}</OrderLink></>}
                    </td>
                    <td class="num" data-label="Amount">{money(r.payment.amount)}</td>
                    <td data-label="Screening">{r.gatewayDecision}{r.score != null ? <span class="muted"> · score {r.score}</span> : null}</td>
                    <td data-label="Review"><Status value={r.status} /></td>
                    <td data-testid="payment-status" data-label="Payment status"><Status value={r.payment.status} />{o && <p class={`outcome outcome-${o.kind}`} role="status">{o.text}</p>}</td>
                    <td class="actions-cell">
                      <button type="button" class="link" aria-expanded={open[r.id] ? 'true' : 'false'} aria-controls={detailsId} onClick={() => setOpen((m) => ({ ...m, [r.id]: !m[r.id] }))}>
                        Details
                      </button>
                      <FinanceButton disabled={r.status !== 'OPEN'} onClick={() => setDeciding({ review: r, decision: 'ACCEPT' })}>Accept</FinanceButton>
                      <FinanceButton class="danger" disabled={r.status !== 'OPEN'} onClick={() => setDeciding({ review: r, decision: 'REJECT' })}>Reject</FinanceButton>
                    </td>
                  </tr>,
                  open[r.id] && (
                    <tr key={`${r.id}-details`} id={detailsId} class="details-row">
                      <td colSpan={7} data-label="Details"><Details r={r} /></td>
                    </tr>
                  ),
                ];
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      <LoadMore list={list} load={load} />
      <ConfirmDialog
        open={!!deciding}
        title={deciding ? `${deciding.decision === 'ACCEPT' ? 'Accept' : 'Reject'} ${deciding.review.payment.merchantReference}?` : ''}
        fieldLabel="Comment (recorded on the review, sent to Decision Manager)"
        danger={deciding?.decision === 'REJECT'}
        onConfirm={decide}
        onCancel={() => setDeciding(null)}
      >
        {deciding && (
          <p>
            {deciding.decision === 'ACCEPT'
              ? 'Accepting releases the payment at the gateway, and its order goes on to SYSPRO.'
              : 'Rejecting reverses or voids the payment at the gateway and cancels its order (in SYSPRO too when it is there).'}{' '}
            {money(deciding.review.payment.amount)} at {deciding.review.gateway}.
          </p>
        )}
      </ConfirmDialog>
      {Object.keys(outcomes).length > 0 && <Notice>Decided reviews stay listed with their outcome until you refresh.</Notice>}
    </section>
  );
}
