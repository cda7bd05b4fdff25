// Pieces the views share: errors, dialogs, tables, finance-only buttons, links to the lookup.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { session, canAct, READ_ONLY_REASON } from './session.js';
import { useStore } from './store.js';
import { href } from './router.js';
import { money, humanize } from './format.js';

// ErrorBox shows GraphQL errors and userErrors: each code and message.
export function ErrorBox({ error, title = 'The hub refused that' }) {
  if (!error) return null;
  const items = error instanceof ApiError ? error.errors : [{ code: '', message: String(error.message || error) }];
  return (
    <div class="error" role="alert">
      <strong>{title}</strong>
      <ul>
        {items.map((e, i) => (
          <li key={i}>
            {e.code && <code class="code">{e.code}</code>} {e.message}
            {e.field?.length ? <span class="muted"> ({e.field.join('.')})</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Notice({ children, kind = 'info' }) {
  return <div class={`notice notice-${kind}`} role="status">{children}</div>;
}

// Dialog is a modal <dialog> (showModal): Escape cancels, focus goes back where it was.
export function Dialog({ open, title, onClose, children, labelId }) {
  const ref = useRef(null);
  const returnTo = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      returnTo.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);
  useEffect(() => () => returnTo.current?.focus?.(), []);
  const closed = () => {
    const back = returnTo.current;
    returnTo.current = null;
    if (back && document.contains(back)) back.focus();
    if (open) onClose();
  };
  return (
    <dialog ref={ref} aria-labelledby={labelId} onClose={closed} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      {open && (
        <div class="dialog-body">
          <h2 id={labelId}>{title}</h2>
          {children}
        </div>
      )}
    </dialog>
  );
}

let dialogSeq = 0;

// ConfirmDialog asks before an action: optional text field (comment, note), Confirm and Cancel.
export function ConfirmDialog({ open, title, children, fieldLabel, fieldRequired, confirmLabel = 'Confirm', danger, onConfirm, onCancel }) {
  const [ids] = useState(() => ({ title: `dlg-${++dialogSeq}`, field: `dlg-field-${dialogSeq}` }));
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (open) {
      setText('');
      setError(null);
      setBusy(false);
    }
  }, [open]);
  const submit = async (e) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm(text.trim());
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title={title} onClose={() => !busy && onCancel()} labelId={ids.title}>
      <form method="dialog" onSubmit={submit}>
        {children}
        {fieldLabel && (
          <p>
            <label for={ids.field}>{fieldLabel}{fieldRequired ? ' (required)' : ' (optional)'}</label>
            <textarea id={ids.field} rows="3" value={text} required={fieldRequired} onInput={(e) => setText(e.currentTarget.value)} />
          </p>
        )}
        <ErrorBox error={error} />
        <div class="actions">
          <button type="submit" class={danger ? 'danger' : 'primary'} disabled={busy || (fieldRequired && !text.trim())}>
            {busy ? 'Working…' : confirmLabel}
          </button>
          <button type="button" onClick={onCancel} disabled={busy}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

// TableWrap scrolls a wide table inside itself, so the page never scrolls sideways.
export function TableWrap({ label, children }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function useFinance() {
  const s = useStore(session);
  return canAct(s?.role);
}

// FinanceButton is disabled, with its reason said, for a key that may not act.
export function FinanceButton({ children, disabled, ...rest }) {
  const allowed = useFinance();
  return (
    <button type="button" {...rest} disabled={!allowed || disabled} title={allowed ? rest.title : READ_ONLY_REASON} aria-describedby={allowed ? rest['aria-describedby'] : 'read-only-reason'}>
      {children}
    </button>
  );
}

// ReadOnlyNote says once per view why the finance buttons are disabled.
export function ReadOnlyNote() {
  const allowed = useFinance();
  if (allowed) return null;
  return <p class="read-only" id="read-only-reason">{READ_ONLY_REASON}</p>;
}

export function Status({ value }) {
  if (!value) return <span class="muted">—</span>;
  return <span class={`badge s-${String(value).toLowerCase()}`}>{humanize(value)}</span>;
}

export function OrderLink({ number, po, children }) {
  const q = number || po;
  if (!q) return children || null;
  return <a href={href('orders', { q })}>{children || q}</a>;
}

// orderOf finds the order a subject leads to: its number (or PO) for a link to the lookup.
export function orderOf(subject) {
  if (!subject) return null;
  const o = subject.__typename === 'Order' ? subject : subject.order || subject.payment?.order;
  if (!o || (!o.number && !o.customerPoNumber)) return null;
  return { number: o.number, po: o.customerPoNumber };
}

// summary says in words what a record is (an event's, posting's or anomaly's subject).
export function summary(subject, fallback) {
  if (!subject) return fallback || '';
  switch (subject.__typename) {
    case 'Payment':
      return `${subject.merchantReference} · ${money(subject.amount)} · ${humanize(subject.paymentStatus)} · ${subject.gateway}`;
    case 'Refund':
      return `Refund ${money(subject.amount)} of ${subject.payment?.merchantReference || '?'} · ${humanize(subject.refundStatus)}`;
    case 'FraudReview':
      return `Fraud review of ${subject.payment?.merchantReference || '?'} (${money(subject.payment?.amount)}) · ${subject.gatewayDecision}${subject.reviewScore != null ? ` score ${subject.reviewScore}` : ''} · ${humanize(subject.reviewStatus)}`;
    case 'Anomaly':
      return `${subject.severity}: ${subject.summary}`;
    case 'Order':
      return `Order ${subject.number || '(not numbered yet)'} · PO ${subject.customerPoNumber} · ${humanize(subject.orderStatus)}`;
    case 'Customer':
      return `Customer ${subject.code} · ${subject.name}`;
    case 'ErpPosting':
      return `${humanize(subject.postingKind)} posting (${subject.businessObject}) · ${humanize(subject.postingStatus)}`;
    case 'SettlementBatch':
      return `${subject.gateway} batch ${subject.batchId} of ${subject.batchDate} · ${humanize(subject.batchStatus)}`;
    case 'SettlementDiscrepancy':
      return `${humanize(subject.discrepancyKind)} on ${subject.gateway} ${subject.settlementDate} · ${humanize(subject.discrepancyStatus)}`;
    case 'GlJournal':
      return `GL journal ${subject.reference || ''} · ${humanize(subject.journalStatus)}`;
    default:
      return fallback || subject.__typename;
  }
}

// useAlive is a ref that turns false once the component has left the page: late answers are dropped.
export function useAlive() {
  const alive = useRef(true);
  useEffect(() => () => { alive.current = false; }, []);
  return alive;
}

const appendPage = (old, nodes, more) => (more ? [...old, ...nodes] : nodes);

// usePagedList pages through a connection: load(false) reads the first page again, load(true)
// appends the next. fetchPage(after) answers the connection; merge(oldNodes, pageNodes, more) gives
// the nodes to show. An answer overtaken by a newer load (or the view's end) is dropped.
export function usePagedList(fetchPage, merge = appendPage) {
  const [list, setList] = useState({ nodes: [], total: 0, endCursor: null, hasNext: false, loading: true, error: null });
  const alive = useAlive();
  const seq = useRef(0);
  const load = async (more = false) => {
    const n = ++seq.current;
    const current = () => alive.current && n === seq.current;
    setList((l) => ({ ...l, loading: true }));
    try {
      const c = await fetchPage(more ? list.endCursor : null);
      if (current()) {
        setList((l) => ({ nodes: merge(l.nodes, c.nodes, more), total: c.totalCount, endCursor: c.pageInfo.endCursor, hasNext: c.pageInfo.hasNextPage, loading: false, error: null }));
      }
    } catch (error) {
      if (current()) setList((l) => ({ ...l, loading: false, error }));
    }
  };
  return { list, setList, load };
}

// LoadMore asks for a paged list's next page, while there is one.
export function LoadMore({ list, load }) {
  if (!list.hasNext) return null;
  return <p><button type="button" onClick={() => load(true)} disabled={list.loading}>Load more</button></p>;
}

// GatewayOptions: a gateway filter's choices.
export function GatewayOptions() {
  return (
    <>
      <option value="">All gateways</option>
      <option value="OPAYO">Opayo</option>
      <option value="CYBERSOURCE">Cybersource</option>
    </>
  );
}

// useQuery runs load() when deps change and on reload(); keeps the last data while reloading.
export function useQuery(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const run = useCallback(async () => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (n === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (n === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    run();
  }, [run]);
  return { ...state, reload: run };
}

// Section heading with a live region for loading state.
export function ViewHeader({ title, children, loading }) {
  return (
    <div class="view-header">
      <h1 id="view-title" tabIndex={-1}>{title}</h1>
      <div class="view-tools">
        <span class="loading" aria-live="polite">{loading ? 'Loading…' : ''}</span>
        {children}
      </div>
    </div>
  );
}
