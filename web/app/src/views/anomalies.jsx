// Anomalies: what the hub noticed that a person should look at; details, then Resolve with a note.
import { useEffect, useState } from 'preact/hooks';
import { gql, mutate, withIdempotencyKey } from '../api.js';
import { ANOMALIES, RESOLVE_ANOMALY } from '../queries.js';
import { dateTime, ago, humanize } from '../format.js';
import { ConfirmDialog, ErrorBox, FinanceButton, LoadMore, Notice, OrderLink, ReadOnlyNote, Status, TableWrap, ViewHeader, orderOf, summary, usePagedList } from '../ui.jsx';

const STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'];
const SEVERITIES = ['CRITICAL', 'WARNING', 'INFO'];
// Kinds the hub raises (sync/*.go and its detector); any other may be typed.
const KNOWN_KINDS = [
  'erp_posting_dead', 'dead_posting_burst', 'unmapped_gateway_status', 'payment_outcome_unknown', 'stock_short',
  'settlement_mismatch', 'syspro_status_unmapped', 'syspro_order_missing', 'syspro_customer_missing', 'customer_sync_refused',
  'order_status_move_refused', 'placed_order_not_voided', 'fraud_policy_reject_failed', 'gl_journal_underivable',
  'tms_customer_missing', 'amount_outlier_customer', 'amount_outlier_merchant', 'card_velocity', 'email_velocity',
  'ip_velocity', 'duplicate_payment', 'refund_ratio_spike',
];
const PAGE = 50;

export function Anomalies() {
  const [form, setForm] = useState({ status: 'OPEN', severity: '', kind: '' });
  const [filter, setFilter] = useState(form);
  const [open, setOpen] = useState({});
  const [resolving, setResolving] = useState(null);
  const [done, setDone] = useState(null);
  const { list, setList, load } = usePagedList(async (after) => {
    const f = {};
    if (filter.status) f.status = [filter.status];
    if (filter.severity) f.severity = [filter.severity];
    if (filter.kind.trim()) f.kind = [filter.kind.trim()];
    return (await gql(ANOMALIES, { filter: f, first: PAGE, after })).anomalies;
  });
  useEffect(() => { load(false); }, [filter]); // eslint-disable-line react-hooks/exhaustive-deps

  const resolve = async (note) => {
    const a = resolving;
    const out = await withIdempotencyKey(`resolve:${a.id}:${note}`, (key) => mutate(RESOLVE_ANOMALY, { idempotencyKey: key, id: a.id, note }));
    setResolving(null);
    setDone(`Resolved: ${a.summary}`);
    setList((l) => ({ ...l, nodes: l.nodes.map((n) => (n.id === a.id ? { ...n, ...out.anomaly } : n)) }));
  };

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Anomalies" loading={list.loading}>
        <span class="muted">{list.total} found</span>
        <button type="button" onClick={() => load(false)}>Refresh</button>
      </ViewHeader>
      <ReadOnlyNote />
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setFilter({ ...form }); }}>
        <p>
          <label for="an-status">Status</label>
          <select id="an-status" value={form.status} onChange={(e) => { const f = { ...form, status: e.currentTarget.value }; setForm(f); setFilter(f); }}>
            <option value="">Any status</option>
            {STATUSES.map((s) => <option key={s} value={s}>{humanize(s)}</option>)}
          </select>
        </p>
        <p>
          <label for="an-severity">Severity</label>
          <select id="an-severity" value={form.severity} onChange={(e) => { const f = { ...form, severity: e.currentTarget.value }; setForm(f); setFilter(f); }}>
            <option value="">Any severity</option>
            {SEVERITIES.map((s) => <option key={s} value={s}>{humanize(s)}</option>)}
          </select>
        </p>
        <p>
          <label for="an-kind">Kind</label>
          <input id="an-kind" list="an-kinds" value={form.kind} placeholder="any kind" onInput={(e) => setForm({ ...form, kind: e.currentTarget.value })} />
          <datalist id="an-kinds">{KNOWN_KINDS.map((k) => <option key={k} value={k} />)}</datalist>
        </p>
        <p class="filter-actions"><button type="submit">Show</button></p>
      </form>
      <ErrorBox error={list.error} title="Could not load anomalies" />
      {done && <Notice kind="ok">{done}</Notice>}
      {list.nodes.length === 0 && !list.loading && !list.error ? (
        <p class="empty">No anomalies match.</p>
      ) : (
        <TableWrap label="Anomalies">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Detected</th>
                <th scope="col">Severity</th>
                <th scope="col">Kind</th>
                <th scope="col">Summary</th>
                <th scope="col">Status</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.nodes.map((a) => {
                const order = orderOf(a.subject);
                const detailsId = `an-details-${a.id}`;
                return [
                  <tr key={a.id} data-testid="anomaly-row" data-id={a.id}>
                    <td data-label="Detected"><span title={dateTime(a.detectedAt)}>{ago(a.detectedAt)}</span></td>
                    <td data-label="Severity"><Status value={a.severity} /></td>
                    <td data-label="Kind"><code>{a.kind}</code></td>
                    <td data-label="Summary">{a.summary}</td>
                    <td data-label="Status"><Status value={a.status} /></td>
                    <td class="actions-cell">
                      <button type="button" class="link" aria-expanded={open[a.id] ? 'true' : 'false'} aria-controls={detailsId} onClick={() => setOpen((m) => ({ ...m, [a.id]: !m[a.id] }))}>Details</button>
                      <FinanceButton disabled={a.status === 'RESOLVED'} onClick={() => setResolving(a)}>Resolve</FinanceButton>
                    </td>
                  </tr>,
                  open[a.id] && (
                    <tr key={`${a.id}-d`} id={detailsId} class="details-row">
                      <td colSpan={6} data-label="Details">
                        <dl class="details">
                          <dt>Summary</dt><dd>{a.summary}</dd>
                          <dt>Explanation</dt><dd>{a.explanation || <span class="muted">(the summary says it all)</span>}</dd>
                          <dt>Score</dt><dd>{a.score ?? <span class="muted">raised by a rule, not scored</span>}</dd>
                          <dt>About</dt>
                          <dd>
                            {a.subject ? summary(a.subject) : a.subjectType || '—'}
                            {order && <> · <OrderLink number={order.number} po={order.po}>look up the order</OrderLink></>}
                          </dd>
                          {a.resolvedBy && <><dt>Resolved</dt><dd>{a.resolvedBy}, {dateTime(a.resolvedAt)}: {a.resolutionNote}</dd></>}
                          <dt>Details</dt><dd><pre class="json">{JSON.stringify(a.details, null, 2)}</pre></dd>
                        </dl>
                      </td>
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
        open={!!resolving}
        title="Resolve this anomaly?"
        fieldLabel="What was done about it"
        fieldRequired
        confirmLabel="Confirm"
        onConfirm={resolve}
        onCancel={() => setResolving(null)}
      >
        <p>{resolving?.summary}</p>
      </ConfirmDialog>
    </section>
  );
}
