// Reconciliation per gateway and settlement day; a day's batches and discrepancy report, its CSV,
// and finance's actions: accept a batch, resolve a discrepancy, reconcile the day again.
import { useEffect, useRef, useState } from 'preact/hooks';
import { gql, mutate, withIdempotencyKey, fetchAllPages } from '../api.js';
import { SETTLEMENT_DAYS, SETTLEMENT_BATCHES, SETTLEMENT_DISCREPANCIES, ACCEPT_BATCH, RESOLVE_DISCREPANCY, RECONCILE } from '../queries.js';
import { money, moneyList, formatAmount, daysAgo, localDate, humanize, dateTime, toCSV, downloadText } from '../format.js';
import { navigate } from '../router.js';
import { ConfirmDialog, ErrorBox, FinanceButton, GatewayOptions, Notice, ReadOnlyNote, Status, TableWrap, ViewHeader, useQuery } from '../ui.jsx';

const count = (day, status) => day.batches.find((b) => b.status === status)?.count || 0;

export function Reconciliation({ params }) {
  const [form, setForm] = useState({ gateway: params.gateway || '', dateFrom: daysAgo(29), dateTo: localDate(new Date()) });
  const [filter, setFilter] = useState(form);
  const selected = params.date && params.gateway ? { gateway: params.gateway, date: params.date } : null;

  const days = useQuery(async () => {
    const f = { dateFrom: filter.dateFrom, dateTo: filter.dateTo, ...(filter.gateway ? { gateway: filter.gateway } : {}) };
    return (await gql(SETTLEMENT_DAYS, { filter: f })).settlementDays;
  }, [filter.gateway, filter.dateFrom, filter.dateTo]);

  const open = (d) => navigate('reconciliation', { gateway: d.gateway, date: d.date });

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Reconciliation" loading={days.loading}>
        <button type="button" onClick={days.reload}>Refresh</button>
      </ViewHeader>
      <ReadOnlyNote />
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setFilter({ ...form }); }}>
        <p>
          <label for="rc-gateway">Gateway</label>
          <select id="rc-gateway" value={form.gateway} onChange={(e) => setForm({ ...form, gateway: e.currentTarget.value })}>
            <GatewayOptions />
          </select>
        </p>
        <p>
          <label for="rc-from">From</label>
          <input id="rc-from" type="date" value={form.dateFrom} max={form.dateTo} onInput={(e) => setForm({ ...form, dateFrom: e.currentTarget.value })} />
        </p>
        <p>
          <label for="rc-to">To</label>
          <input id="rc-to" type="date" value={form.dateTo} min={form.dateFrom} onInput={(e) => setForm({ ...form, dateTo: e.currentTarget.value })} />
        </p>
        <p class="filter-actions"><button type="submit">Show</button></p>
      </form>
      <ErrorBox error={days.error} title="Could not load settlement days" />
      {selected && <DayReport key={`${selected.gateway}/${selected.date}`} gateway={selected.gateway} date={selected.date} onChanged={days.reload} />}
      {days.data && (days.data.length === 0 ? (
        <p class="empty">No settlement days between {filter.dateFrom} and {filter.dateTo}.</p>
      ) : (
        <TableWrap label="Settlement days">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Gateway</th>
                <th scope="col" class="num">Batches</th>
                <th scope="col" class="num">Matched</th>
                <th scope="col" class="num">Mismatched</th>
                <th scope="col" class="num">Accepted</th>
                <th scope="col" class="num">Journaled</th>
                <th scope="col" class="num">Lines</th>
                <th scope="col">Net</th>
                <th scope="col" class="num">Open discrepancies</th>
              </tr>
            </thead>
            <tbody>
              {days.data.map((d) => {
                const isSel = selected && selected.gateway === d.gateway && selected.date === d.date;
                return (
                  <tr key={`${d.gateway}/${d.date}`} data-testid="settlement-day-row" class={isSel ? 'selected' : ''}>
                    <th scope="row" data-label="Day">
                      <button type="button" class="link" onClick={() => open(d)} aria-label={`${d.gateway} ${d.date}: batches and discrepancies`} aria-pressed={isSel ? 'true' : 'false'}>{d.date}</button>
                    </th>
                    <td data-label="Gateway">{d.gateway}</td>
                    <td class="num" data-label="Batches">{d.batchCount}</td>
                    <td class="num" data-label="Matched">{count(d, 'MATCHED')}</td>
                    <td class={`num ${count(d, 'MISMATCHED') ? 'bad' : ''}`} data-label="Mismatched">{count(d, 'MISMATCHED')}</td>
                    <td class="num" data-label="Accepted">{count(d, 'ACCEPTED')}</td>
                    <td class="num" data-label="Journaled">{count(d, 'JOURNAL_POSTED')}</td>
                    <td class="num" data-label="Lines">{d.lineCount}</td>
                    <td data-label="Net">{moneyList(d.net)}</td>
                    <td class={`num ${d.openDiscrepancyCount ? 'bad' : ''}`} data-label="Open discrepancies">{d.openDiscrepancyCount} <span class="muted">/ {d.discrepancyCount}</span></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      ))}
    </section>
  );
}

const CSV_HEADER = [
  'id', 'gateway', 'settlement_date', 'kind', 'status', 'batch_id', 'line_numbers', 'merchant_reference',
  'gateway_transaction_id', 'currency', 'expected', 'actual', 'difference', 'explanation', 'payments',
  'resolved_by', 'resolved_at', 'resolution_note', 'created_at',
];

function csvRow(d) {
  return [
    d.id, d.gateway, d.settlementDate, d.kind, d.status, d.batch?.batchId, d.lineNumbers.join(' '), d.merchantReference,
    d.gatewayTransactionId, d.currency, d.expected, d.actual, d.difference, d.explanation,
    d.payments.map((p) => p.merchantReference).join(' '), d.resolvedBy, d.resolvedAt, d.resolutionNote, d.createdAt,
  ];
}

async function loadDay(gateway, date) {
  const [batches, discrepancies] = await Promise.all([
    fetchAllPages(SETTLEMENT_BATCHES, { filter: { gateway, dateFrom: date, dateTo: date } }, (d) => d.settlementBatches),
    fetchAllPages(SETTLEMENT_DISCREPANCIES, { filter: { gateway, date } }, (d) => d.settlementDiscrepancies),
  ]);
  return { batches, discrepancies };
}

function DayReport({ gateway, date, onChanged }) {
  const q = useQuery(() => loadDay(gateway, date), [gateway, date]);
  const [accepting, setAccepting] = useState(null);
  const [resolving, setResolving] = useState(null);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const [csvBusy, setCsvBusy] = useState(false);
  const heading = useRef(null);
  const refreshTimer = useRef(null);
  useEffect(() => {
    heading.current?.scrollIntoView({ block: 'nearest' });
    return () => clearTimeout(refreshTimer.current);
  }, []);

  const done = (text) => {
    setNotice(text);
    q.reload();
    onChanged();
  };
  const accept = async (note) => {
    const b = accepting;
    await withIdempotencyKey(`accept:${b.id}:${note}`, (key) => mutate(ACCEPT_BATCH, { idempotencyKey: key, id: b.id, note }));
    setAccepting(null);
    done(`Batch ${b.batchId} accepted.`);
  };
  const resolve = async (note) => {
    const d = resolving;
    await withIdempotencyKey(`resolveDisc:${d.id}:${note}`, (key) => mutate(RESOLVE_DISCREPANCY, { idempotencyKey: key, id: d.id, note }));
    setResolving(null);
    done(`Discrepancy resolved (${humanize(d.kind)}${d.merchantReference ? ` ${d.merchantReference}` : ''}).`);
  };
  const reconcile = async () => {
    setError(null);
    try {
      await withIdempotencyKey(`reconcile:${gateway}:${date}`, (key) => mutate(RECONCILE, { idempotencyKey: key, gateway, date }));
      setNotice(`Reconciliation of ${gateway} ${date} queued; refreshing in a few seconds.`);
      clearTimeout(refreshTimer.current);
      refreshTimer.current = setTimeout(() => { q.reload(); onChanged(); }, 4000);
    } catch (err) {
      setError(err);
    }
  };
  const csv = async () => {
    setCsvBusy(true);
    setError(null);
    try {
      // Every page, fetched now: the file is the report as it stands.
      const all = await fetchAllPages(SETTLEMENT_DISCREPANCIES, { filter: { gateway, date } }, (d) => d.settlementDiscrepancies, { pageSize: 500 });
      downloadText(`discrepancies-${gateway.toLowerCase()}-${date}.csv`, toCSV(CSV_HEADER, all.map(csvRow)));
    } catch (err) {
      setError(err);
    } finally {
      setCsvBusy(false);
    }
  };

  const data = q.data;
  return (
    <section class="panel day-report" aria-labelledby="day-title" data-testid="day-report">
      <div class="view-header">
        <h2 id="day-title" ref={heading} tabIndex={-1}>{gateway} · {date}</h2>
        <div class="view-tools">
          <button type="button" onClick={csv} disabled={csvBusy || !data}>{csvBusy ? 'Preparing…' : 'Download CSV'}</button>
          <FinanceButton onClick={reconcile}>Reconcile again</FinanceButton>
          <button type="button" onClick={() => navigate('reconciliation', {})}>Close</button>
          <span class="loading" aria-live="polite">{q.loading ? 'Loading…' : ''}</span>
        </div>
      </div>
      <ErrorBox error={q.error} title="Could not load the day" />
      <ErrorBox error={error} />
      {notice && <Notice kind="ok">{notice}</Notice>}
      {data && (
        <>
          <h3>Batches ({data.batches.length})</h3>
          {data.batches.length === 0 ? <p class="empty">No batches on this day.</p> : (
            <TableWrap label="Batches of the day">
              <table class="cards">
                <thead>
                  <tr>
                    <th scope="col">Batch</th><th scope="col">Status</th><th scope="col" class="num">Lines</th>
                    <th scope="col">Gross</th><th scope="col">Refunds</th><th scope="col">Fees</th><th scope="col">Chargebacks</th><th scope="col">Net</th>
                    <th scope="col">Journal</th><th scope="col"><span class="visually-hidden">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {data.batches.map((b) => (
                    <tr key={b.id} data-testid="batch-row" data-id={b.id}>
                      <td data-label="Batch">{b.batchId}<br /><span class="muted">{b.currency}</span></td>
                      <td data-label="Status"><Status value={b.status} />{b.acceptedBy && <><br /><span class="muted">by {b.acceptedBy}: {b.acceptanceNote}</span></>}</td>
                      <td class="num" data-label="Lines">{b.lineCount}</td>
                      <td class="num" data-label="Gross">{money(b.gross)}</td>
                      <td class="num" data-label="Refunds">{money(b.refunds)}</td>
                      <td class="num" data-label="Fees">{money(b.fees)}</td>
                      <td class="num" data-label="Chargebacks">{money(b.chargebacks)}</td>
                      <td class="num" data-label="Net">{money(b.net)}</td>
                      <td data-label="Journal">
                        {b.journal ? <><Status value={b.journal.status} />{b.journal.sysproJournalNumber && <><br />SYSPRO {b.journal.sysproJournalNumber}</>}{b.journal.lastError && <><br /><span class="bad">{b.journal.lastError}</span></>}</> : <span class="muted">not yet</span>}
                      </td>
                      <td class="actions-cell">{b.status === 'MISMATCHED' && <FinanceButton onClick={() => setAccepting(b)}>Accept batch</FinanceButton>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          <h3>Discrepancies ({data.discrepancies.length})</h3>
          {data.discrepancies.length === 0 ? <p class="empty">Reconciliation found nothing wrong on this day.</p> : (
            <TableWrap label="Discrepancy report">
              <table class="cards">
                <thead>
                  <tr>
                    <th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Batch / lines</th><th scope="col">Reference</th>
                    <th scope="col" class="num">Expected</th><th scope="col" class="num">Actual</th><th scope="col" class="num">Difference</th>
                    <th scope="col">Explanation</th><th scope="col"><span class="visually-hidden">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {data.discrepancies.map((d) => (
                    <tr key={d.id} data-testid="discrepancy-row" data-id={d.id}>
                      <td data-label="Kind">{humanize(d.kind)}</td>
                      <td data-label="Status"><Status value={d.status} />{d.resolvedBy && <><br /><span class="muted" title={dateTime(d.resolvedAt)}>{d.resolvedBy}: {d.resolutionNote}</span></>}</td>
                      <td data-label="Batch / lines">{d.batch ? d.batch.batchId : <span class="muted">no batch</span>}{d.lineNumbers.length ? <><br /><span class="muted">line {d.lineNumbers.join(', ')}</span></> : null}</td>
                      <td data-label="Reference">{d.merchantReference || '—'}{d.gatewayTransactionId && <><br /><span class="muted">{d.gatewayTransactionId}</span></>}</td>
                      <td class="num" data-label="Expected">{formatAmount(d.expected, d.currency)}</td>
                      <td class="num" data-label="Actual">{formatAmount(d.actual, d.currency)}</td>
                      <td class="num" data-label="Difference">{formatAmount(d.difference, d.currency)}</td>
                      <td data-label="Explanation">{d.explanation}</td>
                      <td class="actions-cell">{d.status === 'OPEN' && <FinanceButton onClick={() => setResolving(d)}>Resolve</FinanceButton>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </>
      )}
      <ConfirmDialog open={!!accepting} title={`Accept batch ${accepting?.batchId || ''} as it stands?`} fieldLabel="Why it is accepted" fieldRequired onConfirm={accept} onCancel={() => setAccepting(null)}>
        <p>Its open discrepancies become accepted with your note, and the batch is journaled like a matched one.</p>
      </ConfirmDialog>
      <ConfirmDialog open={!!resolving} title="Resolve this discrepancy?" fieldLabel="What was done about it" fieldRequired onConfirm={resolve} onCancel={() => setResolving(null)}>
        <p>{resolving?.explanation}</p>
      </ConfirmDialog>
    </section>
  );
}
