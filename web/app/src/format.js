// Formatting and the little arithmetic the page does. Money comes from the API as decimal
// strings; it is formatted from the string (Intl formats a decimal string exactly) and added up
// with BigInt, never through a float.

const moneyFormats = new Map();

export function money(m) {
  if (!m) return '—';
  return formatAmount(m.amount, m.currency);
}

export function formatAmount(amount, currency) {
  if (amount === null || amount === undefined) return '—';
  if (!currency) return String(amount);
  let nf = moneyFormats.get(currency);
  if (!nf) {
    try {
      nf = new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 4 });
    } catch {
      nf = { format: (a) => `${a} ${currency}` };
    }
    moneyFormats.set(currency, nf);
  }
  return nf.format(String(amount));
}

export function moneyList(list) {
  if (!list || list.length === 0) return '—';
  return list.map(money).join(' + ');
}

// ---- decimal strings ----

function parseDecimal(s) {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(String(s).trim());
  if (!m) throw new Error(`not a decimal: ${s}`);
  const frac = m[3] || '';
  const digits = BigInt((m[2] || '0') + frac || '0');
  return { units: m[1] === '-' ? -digits : digits, scale: frac.length };
}

function toDecimalString(units, scale) {
  const neg = units < 0n;
  let s = (neg ? -units : units).toString().padStart(scale + 1, '0');
  if (scale > 0) s = `${s.slice(0, -scale)}.${s.slice(-scale)}`;
  return (neg ? '-' : '') + s;
}

// addDecimals adds decimal strings exactly, keeping the largest number of decimal places.
export function addDecimals(values) {
  let units = 0n;
  let scale = 0;
  for (const v of values) {
    const d = parseDecimal(v);
    if (d.scale > scale) {
      units *= 10n ** BigInt(d.scale - scale);
      scale = d.scale;
    }
    units += d.units * 10n ** BigInt(scale - d.scale);
  }
  return toDecimalString(units, scale);
}

// sumByCurrency adds up a list of Money into one Money per currency, in currency order.
export function sumByCurrency(list) {
  const by = new Map();
  for (const m of list) {
    if (!m) continue;
    if (!by.has(m.currency)) by.set(m.currency, []);
    by.get(m.currency).push(m.amount);
  }
  return [...by.keys()].sort().map((currency) => ({ currency, amount: addDecimals(by.get(currency)) }));
}

// ---- time ----

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function dateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : '—';
}
export function timeOfDay(iso) {
  return iso ? timeFormat.format(new Date(iso)) : '—';
}
export function hourMinute(iso) {
  return iso ? hourFormat.format(new Date(iso)) : '';
}

// localDate is a Date's calendar day in the browser's zone, as YYYY-MM-DD.
export function localDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function daysAgo(n, from = new Date()) {
  const d = new Date(from);
  d.setDate(d.getDate() - n);
  return localDate(d);
}

export function startOfLocalDay(d = new Date()) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// ---- words ----

// humanize turns an enum value into words: PARTIALLY_REFUNDED -> partially refunded.
export function humanize(v) {
  return v ? String(v).toLowerCase().replace(/_/g, ' ') : '';
}

// ---- CSV (RFC 4180) ----

export function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join(' ') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// toCSV writes a header row and one row per record, fields quoted where needed, CRLF line ends.
export function toCSV(header, rows) {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function downloadText(filename, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
