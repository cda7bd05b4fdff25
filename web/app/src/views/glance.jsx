// Today at a glance: payments by gateway and status, what waits for someone, volume over the
// day, and reconciliation per settlement day over the last 14 days.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { gql } from '../api.js';
import { GLANCE } from '../queries.js';
import { live } from '../live.js';
import { href } from '../router.js';
import { moneyList, sumByCurrency, startOfLocalDay, localDate, daysAgo, hourMinute, humanize, timeOfDay } from '../format.js';
import { ErrorBox, TableWrap, ViewHeader, useQuery } from '../ui.jsx';
import { BarChart, StackedBarChart } from '../charts.jsx';

const BUCKET_MINUTES = 30;
const REFRESH_MS = 30_000;
const EVENT_DEBOUNCE_MS = 2_000;
const STATUS_ORDER = ['PENDING', 'REVIEW', 'AUTHORIZED', 'CAPTURED', 'SETTLED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'VOIDED', 'DECLINED', 'FAILED', 'UNKNOWN'];
const BATCH_SERIES = [
  { key: 'JOURNAL_POSTED', label: 'journaled' },
  { key: 'MATCHED', label: 'matched' },
  { key: 'ACCEPTED', label: 'accepted' },
  { key: 'IMPORTED', label: 'imported' },
  { key: 'MISMATCHED', label: 'mismatched' },
  { key: 'FAILED', label: 'failed' },
];

async function loadGlance() {
  const from = startOfLocalDay();
  const to = new Date(from.getFullYear(), from.getMonth(), from.getDate() + 1);
  const data = await gql(GLANCE, {
    from: from.toISOString(),
    to: to.toISOString(),
    bucket: BUCKET_MINUTES,
    dayFrom: daysAgo(13),
    dayTo: localDate(new Date()),
  });
  return { ...data, loadedAt: new Date().toISOString() };
}

function Tile({ label, value, sub, link }) {
  const body = (
    <>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
      {sub && <span class="tile-sub">{sub}</span>}
    </>
  );
  return <li class="tile">{link ? <a href={link}>{body}</a> : body}</li>;
}

export function Glance() {
  const q = useQuery(loadGlance, []);
  const reload = useRef(q.reload);
  reload.current = q.reload;

  // Refresh a moment after events arrive, and 30 s after the last load whatever started it (so an
  // event's reload is not followed at once by a timed one, and loads never overlap).
  useEffect(() => {
    let timer = null;
    const off = live.onEvent(() => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        reload.current();
      }, EVENT_DEBOUNCE_MS);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
  useEffect(() => {
    if (q.loading) return;
    const next = setTimeout(() => reload.current(), REFRESH_MS);
    return () => clearTimeout(next);
  }, [q.loading]);

  const view = useMemo(() => (q.data ? derive(q.data) : null), [q.data]);

  return (
    <section aria-labelledby="view-title">
      <ViewHeader title="Today at a glance" loading={q.loading}>
        {q.data && <span class="muted">updated {timeOfDay(q.data.loadedAt)}</span>}
        <button type="button" onClick={q.reload}>Refresh</button>
      </ViewHeader>
      <ErrorBox error={q.error} title="Could not load today's figures" />
      {view && (
        <>
          <ul class="tiles" aria-label="Today's figures">
            <Tile label="Payments" value={view.payments} sub="sales and authorisations" />
            <Tile label="Amount taken" value={moneyList(view.taken)} sub="sales and captures" />
            <Tile label="Refunds" value={view.refunds.count} sub={moneyList(view.refunds.amounts)} />
            <Tile label="Declines" value={view.declines} />
            <Tile label="Reviews pending" value={view.stats.reviewsPending} link={href('fraud')} />
            <Tile label="Dead letters" value={view.stats.deadLetters} link={href('dead-letters')} />
            <Tile label="Open anomalies" value={view.stats.openAnomalies} link={href('anomalies')} />
          </ul>

          <div class="grid-2">
            <section aria-labelledby="vol-title" class="panel">
              <h2 id="vol-title">Money taken, per {BUCKET_MINUTES} minutes</h2>
              <BarChart
                label={`Payments taken per ${BUCKET_MINUTES} minutes today (bar height: count)`}
                description={`${view.bucketsWithPayments} of ${view.bars.length} periods had payments; busiest ${view.busiest}.`}
                bars={view.bars}
                labelMultiple={Math.max(1, Math.round(60 / BUCKET_MINUTES))}
              />
            </section>
            <section aria-labelledby="rec-title" class="panel">
              <h2 id="rec-title">Reconciliation, last 14 days</h2>
              <StackedBarChart
                label="Settlement batches per day by reconciliation state"
                description={view.recDescription}
                columns={view.days}
                series={BATCH_SERIES}
                marks={view.dayMarks}
                markLabel="open discrepancies"
              />
              {view.totalBatches === 0 && <p class="muted">No settlement batches in the last 14 days yet: a gateway's day is reconciled once it is over.</p>}
            </section>
          </div>

          <section aria-labelledby="gw-title" class="panel">
            <h2 id="gw-title">Payments by gateway and status</h2>
            {view.rows.length === 0 ? (
              <p class="empty">No payments yet today.</p>
            ) : (
              <TableWrap label="Payments by gateway and status">
                <table class="matrix">
                  <thead>
                    <tr>
                      <th scope="col">Gateway</th>
                      <th scope="col">Kind</th>
                      {view.statuses.map((s) => <th scope="col" key={s}>{humanize(s)}</th>)}
                    </tr>
                  </thead>
                  <tbody>
                    {view.rows.map((r) => (
                      <tr key={r.key}>
                        <th scope="row">{r.gateway}</th>
                        <td>{humanize(r.kind)}</td>
                        {view.statuses.map((s) => {
                          const c = r.cells[s];
                          return (
                            <td key={s} class="num">
                              {c ? <><span class="count">{c.count}</span><br /><span class="muted">{moneyList(c.amounts)}</span></> : <span class="muted">·</span>}
                            </td>
                          );
                        })}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </section>
        </>
      )}
    </section>
  );
}

function derive({ paymentStats: stats, settlementDays }) {
  const groups = stats.groups;
  const count = (pred) => groups.filter(pred).reduce((a, g) => a + g.count, 0);
  const payments = count((g) => g.kind === 'SALE' || g.kind === 'AUTHORIZATION');
  const refundGroups = groups.filter((g) => g.kind === 'REFUND');
  const refunds = { count: refundGroups.reduce((a, g) => a + g.count, 0), amounts: sumByCurrency(refundGroups.map((g) => g.amount)) };
  const declines = count((g) => g.status === 'DECLINED');
  const taken = sumByCurrency(stats.volume.flatMap((b) => b.amounts));

  // gateway × kind rows, status columns (only statuses that occur).
  const statuses = STATUS_ORDER.filter((s) => groups.some((g) => g.status === s));
  const rowsByKey = new Map();
  for (const g of groups) {
    const key = `${g.gateway}/${g.kind}`;
    if (!rowsByKey.has(key)) rowsByKey.set(key, { key, gateway: g.gateway, kind: g.kind, cells: {} });
    const row = rowsByKey.get(key);
    const cell = (row.cells[g.status] ||= { count: 0, money: [] });
    cell.count += g.count;
    cell.money.push(g.amount);
  }
  const rows = [...rowsByKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  for (const r of rows) for (const c of Object.values(r.cells)) c.amounts = sumByCurrency(c.money);

  const bars = stats.volume.map((b) => ({
    key: b.start,
    value: b.count,
    label: hourMinute(b.start),
    title: `${hourMinute(b.start)}: ${b.count} payment${b.count === 1 ? '' : 's'}${b.amounts.length ? `, ${moneyList(b.amounts)}` : ''}`,
  }));
  const busiestBar = bars.reduce((best, b) => (b.value > (best?.value ?? 0) ? b : best), null);

  // settlementDays: one column per day (gateways added up), oldest day on the left.
  const byDay = new Map();
  for (let i = 13; i >= 0; i--) byDay.set(daysAgo(i), { batches: {}, open: 0, discrepancies: 0 });
  for (const d of settlementDays) {
    const day = byDay.get(d.date);
    if (!day) continue;
    for (const b of d.batches) day.batches[b.status] = (day.batches[b.status] || 0) + b.count;
    day.open += d.openDiscrepancyCount;
    day.discrepancies += d.discrepancyCount;
  }
  const days = [...byDay.entries()].map(([date, d]) => ({
    key: date,
    label: date.slice(8),
    title: date,
    parts: Object.entries(d.batches).map(([key, value]) => ({ key, value })),
  }));
  const dayMarks = [...byDay.values()].map((d) => ({ value: d.open }));
  const totalBatches = [...byDay.values()].reduce((a, d) => a + Object.values(d.batches).reduce((x, y) => x + y, 0), 0);
  const open = dayMarks.reduce((a, m) => a + m.value, 0);
  return {
    stats,
    payments,
    refunds,
    declines,
    taken,
    statuses,
    rows,
    bars,
    bucketsWithPayments: bars.filter((b) => b.value > 0).length,
    busiest: busiestBar ? busiestBar.title : 'none',
    days,
    dayMarks,
    totalBatches,
    recDescription: `${totalBatches} batches over 14 days; ${open} open discrepancies.`,
  };
}
