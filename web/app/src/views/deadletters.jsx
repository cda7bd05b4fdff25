// The dead-letter queue: SYSPRO postings that failed for good, with SYSPRO's message; repost one,
// or every one that matches the filter, and watch what becomes of them.
import { useEffect, useState } from 'preact/hooks';
import { gql, mutate, sleep, withIdempotencyKey } from '../api.js';
import { DEAD_LETTERS, DEAD_LETTER_COUNT, POSTING_STATUS, REPOST, REPOST_ALL } from '../queries.js';
import { dateTime, ago, humanize } from '../format.js';
import { ConfirmDialog, ErrorBox, FinanceButton, LoadMore, Notice, OrderLink, ReadOnlyNote, Status, TableWrap, ViewHeader, orderOf, summary, useAlive, usePagedList } from '../ui.jsx';

const KINDS = ['CUSTOMER', 'SALES_ORDER', 'ORDER_STATUS', 'AR_PAYMENT', 'CREDIT_NOTE', 'GL_JOURNAL'];
const CLASSES = ['TRANSIENT', 'BUSINESS', 'CONFIGURATION'];
const PAGE = 50;
const POLL_MS = 1000;
const POLL_FOR_MS = 60_000;
const STILL_GOING = ['PENDING', 'IN_PROGRESS'];

function filterOf(f) {
  const out = { limit: f.limit };
  if (f.kind) out.kind = f.kind;
  if (f.errorClass) out.errorClass = f.errorClass;
  return out;
}

// Fetches the status of many postings at once (aliases: one request per 50).
async function postingStatuses(ids) {
  const out = [];
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const vars = chunk.map((_, j) => `$id${j}: ID!`).join(', ');
    const fields = chunk.map((_, j) => `p${j}: node(id: $id${j}) { ... on ErpPosting { id status lastError sysproReference } }`).join(' ');
    const data = await gql(`query PostingStatuses(${vars}) { ${fields} }`, Object.fromEntries(chunk.map((id, j) => [`id${j}`, id])));
    out.push(...chunk.map((_, j) => data[`p${j}`]).filter(Boolean));
  }
  return out;
}

export function DeadLetters() {
  const [form, setForm] = useState({ kind: '', errorClass: '', limit: 100 });
  const [filter, setFilter] = useState(form);
  const [outcomes, setOutcomes] = useState({}); // posting id -> { phase, text, posting }
  const [bulk, setBulk] = useState(null); // { count } while the confirm dialog is open
  const [bulkResult, setBulkResult] = useState(null);
  const [error, setError] = useState(null);
  const alive = useAlive();
  const { list, setList, load } = usePagedList(
    async (after) => (await gql(DEAD_LETTERS, { filter: filterOf(filter), first: PAGE, after })).deadLetters,
    // A posting reposted meanwhile may come round again on the next page: shown once.
    (old, nodes, more) => (more ? [...old, ...nodes.filter((n) => !old.some((o) => o.id === n.id))] : nodes),
  );
  useEffect(() => { load(false); }, [filter]); // eslint-disable-line react-hooks/exhaustive-deps

  const setOutcome = (id, o) => alive.current && setOutcomes((m) => ({ ...m, [id]: o }));

  // Waits for a reposted posting to be tried again and says how it went.
  const follow = async (id) => {
    const until = Date.now() + POLL_FOR_MS;
    while (Date.now() < until && alive.current) {
      await sleep(POLL_MS);
      let p;
      try {
        p = (await gql(POSTING_STATUS, { id })).node;
      } catch (err) {
        setOutcome(id, { phase: 'error', text: `Could not follow the posting: ${err.message}` });
        return;
      }
      if (!p) {
        setOutcome(id, { phase: 'error', text: 'The posting is gone.' });
        return;
      }
      if (!STILL_GOING.includes(p.status)) {
        if (p.status === 'SUCCEEDED') {
          setOutcome(id, { phase: 'succeeded', text: `${summary(p.subject, humanize(p.kind))}: posted to SYSPRO${p.sysproReference ? ` as ${p.sysproReference}` : ''}.`, posting: p });
          setList((l) => ({ ...l, nodes: l.nodes.filter((n) => n.id !== id), total: Math.max(0, l.total - 1) }));
        } else {
          setOutcome(id, { phase: p.status === 'DEAD' ? 'dead' : 'other', text: p.status === 'DEAD' ? `Died again: ${p.lastError || 'no message'}` : `Now ${humanize(p.status)}.`, posting: p });
          setList((l) => ({ ...l, nodes: l.nodes.map((n) => (n.id === id ? p : n)) }));
        }
        return;
      }
      setOutcome(id, { phase: 'waiting', text: `${humanize(p.status)}…` });
    }
    setOutcome(id, { phase: 'waiting', text: 'Still queued: SYSPRO has not taken it yet (it is retried in the background).' });
  };

  const repost = async (p) => {
    setError(null);
    setOutcome(p.id, { phase: 'reposting', text: 'Reposting…' });
    try {
      const out = await withIdempotencyKey(`repost:${p.id}`, (key) => mutate(REPOST, { idempotencyKey: key, id: p.id }));
      setOutcome(p.id, { phase: 'waiting', text: `${humanize(out.erpPosting?.status || 'PENDING')}…` });
      await follow(p.id);
    } catch (err) {
      setOutcome(p.id, { phase: 'error', text: err.message });
      setError(err);
    }
  };

  const askBulk = async () => {
    setError(null);
    try {
      const data = await gql(DEAD_LETTER_COUNT, { filter: filterOf(filter) });
      setBulk({ count: data.deadLetters.totalCount });
    } catch (err) {
      setError(err);
    }
  };

  const repostAll = async () => {
    const f = filterOf(filter);
    const out = await withIdempotencyKey(`repostAll:${JSON.stringify(f)}`, (key) => mutate(REPOST_ALL, { idempotencyKey: key, filter: f }));
    setBulk(null);
    const ids = out.reposted.map((p) => p.id);
    setBulkResult({ text: `Reposted ${out.count}; waiting for SYSPRO…`, kind: 'info' });
    for (const id of ids) setOutcome(id, { phase: 'waiting', text: 'Reposted…' });
    const until = Date.now() + POLL_FOR_MS;
    let last = [];
    while (ids.length && Date.now() < until && alive.current) {
      await sleep(POLL_MS * 1.5);
      try {
        last = await postingStatuses(ids);
      } catch (err) {
        setError(err);
        break;
      }
      if (!last.some((p) => STILL_GOING.includes(p.status))) break;
    }
    const n = (s) => last.filter((p) => p.status === s).length;
    if (alive.current) {
      setBulkResult({
        text: `Reposted ${out.count}: ${n('SUCCEEDED')} succeeded, ${n('DEAD')} died again, ${last.filter((p) => STILL_GOING.includes(p.status)).length} still queued.`,
        kind: n('DEAD') ? 'warn' : 'ok',
      });
      for (const p of last) {
        if (!STILL_GOING.includes(p.status)) setOutcome(p.id, { phase: p.status === 'DEAD' ? 'dead' : 'succeeded', text: p.status === 'DEAD' ? `Died again: ${p.lastError || ''}` : humanize(p.status) });
      }
      load(false);
    }
  };

  const succeeded = Object.entries(outcomes).filter(([id, o]) => o.phase === 'succeeded' && !list.nodes.some((n) => n.id === id));

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Dead-letter queue" loading={list.loading}>
        <span class="muted">{list.total} dead posting{list.total === 1 ? '' : 's'}{filter.kind || filter.errorClass ? ' matching' : ''}</span>
        <button type="button" onClick={() => load(false)}>Refresh</button>
      </ViewHeader>
      <ReadOnlyNote />
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setFilter({ ...form }); }}>
        <p>
          <label for="dl-kind">Kind</label>
          <select id="dl-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.currentTarget.value })}>
            <option value="">All kinds</option>
            {KINDS.map((k) => <option key={k} value={k}>{humanize(k)}</option>)}
          </select>
        </p>
        <p>
          <label for="dl-class">Error class</label>
          <select id="dl-class" value={form.errorClass} onChange={(e) => setForm({ ...form, errorClass: e.currentTarget.value })}>
            <option value="">All classes</option>
            {CLASSES.map((k) => <option key={k} value={k}>{humanize(k)}</option>)}
          </select>
        </p>
        <p>
          <label for="dl-limit">At most</label>
          <input id="dl-limit" type="number" min="1" max="500" value={form.limit} onInput={(e) => setForm({ ...form, limit: Math.min(500, Math.max(1, Number(e.currentTarget.value) || 100)) })} />
        </p>
        <p class="filter-actions">
          <button type="submit">Show</button>
          <FinanceButton onClick={askBulk} disabled={list.total === 0}>Repost all matching</FinanceButton>
        </p>
      </form>
      <ErrorBox error={list.error} title="Could not load the dead-letter queue" />
      <ErrorBox error={error} />
      {bulkResult && <Notice kind={bulkResult.kind}>{bulkResult.text}</Notice>}
      {succeeded.length > 0 && (
        <div class="notice notice-ok" role="status" data-testid="repost-succeeded">
          <ul>{succeeded.map(([id, o]) => <li key={id}>{o.text}</li>)}</ul>
        </div>
      )}
      {list.nodes.length === 0 && !list.loading && !list.error ? (
        <p class="empty">The dead-letter queue is empty{filter.kind || filter.errorClass ? ' for this filter' : ''}.</p>
      ) : (
        <TableWrap label="Dead postings">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Posting</th>
                <th scope="col">About</th>
                <th scope="col">SYSPRO's message</th>
                <th scope="col">Class</th>
                <th scope="col">Attempts</th>
                <th scope="col">Died</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.nodes.map((p) => {
                const o = outcomes[p.id];
                const order = orderOf(p.subject);
                const busy = o && (o.phase === 'reposting' || o.phase === 'waiting');
                return (
                  <tr key={p.id} data-testid="dead-letter-row" data-id={p.id} data-status={p.status}>
                    <td data-label="Posting">{humanize(p.kind)}<br /><span class="muted">{p.businessObject}</span></td>
                    <td data-label="About">
                      {summary(p.subject, p.subjectType)}
                      {order && <><br /><OrderLink number={order.number} po={order.po}>Look up order</OrderLink></>}
                    </td>
                    <td class="message" data-label="SYSPRO's message">
                      <span data-testid="last-error">{p.lastError || '—'}</span>
                      {p.sysproErrorNumber && <><br /><span class="muted">SYSPRO error {p.sysproErrorNumber}</span></>}
                      {o && <p class={`outcome outcome-${o.phase}`} role="status">{o.text}</p>}
                    </td>
                    <td data-label="Class"><Status value={p.errorClass} /></td>
                    <td class="num" data-label="Attempts">{p.attempts}</td>
                    <td data-label="Died"><span title={dateTime(p.deadAt)}>{ago(p.deadAt)}</span></td>
                    <td class="actions-cell">
                      <FinanceButton onClick={() => repost(p)} disabled={busy || p.status !== 'DEAD'}>Repost</FinanceButton>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      <LoadMore list={list} load={load} />
      <ConfirmDialog
        open={!!bulk}
        title="Repost all matching dead postings?"
        confirmLabel="Confirm"
        onConfirm={repostAll}
        onCancel={() => setBulk(null)}
      >
        <p>
          This puts <strong>{bulk?.count ?? 0}</strong> dead posting{bulk?.count === 1 ? '' : 's'} back in the queue
          {filter.kind ? ` (kind ${humanize(filter.kind)})` : ''}{filter.errorClass ? ` (error class ${humanize(filter.errorClass)})` : ''}, oldest first, at most {filter.limit}.
          Do it once whatever SYSPRO refused has been fixed.
        </p>
      </ConfirmDialog>
    </section>
  );
}
