// Two hand-made SVG charts: bars (volume over time) and stacked bars (reconciliation per day).
// Each draws at its container's width (so its text stays legible on a phone) and the given height.
import { useEffect, useRef, useState } from 'preact/hooks';

const H = 200;
const PAD = { top: 12, right: 8, bottom: 26, left: 34 };
const MIN_LABEL_GAP = 56; // px between x-axis labels

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// useWidth follows an element's width (ResizeObserver).
function useWidth(initial = 600) {
  const ref = useRef(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(240, Math.round(el.clientWidth)));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

function Axis({ max, width }) {
  const ih = H - PAD.top - PAD.bottom;
  return [0, max / 2, max].map((t) => {
    const y = PAD.top + ih - (t / max) * ih;
    return (
      <g key={t} class="tick">
        <line x1={PAD.left} x2={width - PAD.right} y1={y} y2={y} />
        <text x={PAD.left - 6} y={y + 4} text-anchor="end">{Number.isInteger(t) ? t : ''}</text>
      </g>
    );
  });
}

// BarChart: bars [{ key, value, label (x axis), title (tooltip) }]; x labels go on every n-th bar,
// n a multiple of labelMultiple (e.g. whole hours) leaving room between them.
export function BarChart({ bars, label, description, labelMultiple = 1 }) {
  const [ref, W] = useWidth();
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const step = iw / Math.max(bars.length, 1);
  const bw = Math.max(step * 0.75, 1);
  const every = Math.ceil(Math.max(1, Math.ceil(MIN_LABEL_GAP / step)) / labelMultiple) * labelMultiple;
  return (
    <figure class="chart" ref={ref}>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`${label}. ${description || ''}`}>
        <Axis max={max} width={W} />
        {bars.map((b, i) => {
          const h = (b.value / max) * ih;
          const x = PAD.left + i * step + (step - bw) / 2;
          return (
            <g key={b.key}>
              <rect class="bar" x={x} y={PAD.top + ih - h} width={bw} height={Math.max(h, 0)}>
                <title>{b.title}</title>
              </rect>
              {i % every === 0 && <text class="xlabel" x={x + bw / 2} y={H - 8} text-anchor="middle">{b.label}</text>}
            </g>
          );
        })}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

// StackedBarChart: columns [{ key, label, title, parts: [{ key, value }] }]; series [{ key, label }]
// give the order from the bottom up and the legend (colours by CSS class series-<key>); marks
// (one per column) are dots for a second figure, e.g. open discrepancies.
export function StackedBarChart({ columns, series, label, description, marks, markLabel }) {
  const [ref, W] = useWidth();
  const totals = columns.map((c) => c.parts.reduce((a, p) => a + p.value, 0));
  const max = niceMax(Math.max(0, ...totals, ...(marks || []).map((m) => m.value)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const step = iw / Math.max(columns.length, 1);
  const bw = Math.max(step * 0.6, 1);
  const every = Math.max(1, Math.ceil(28 / step));
  return (
    <figure class="chart" ref={ref}>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`${label}. ${description || ''}`}>
        <Axis max={max} width={W} />
        {columns.map((c, i) => {
          const x = PAD.left + i * step + (step - bw) / 2;
          let y = PAD.top + ih;
          return (
            <g key={c.key}>
              {series.map((s) => {
                const v = c.parts.find((p) => p.key === s.key)?.value || 0;
                if (!v) return null;
                const h = (v / max) * ih;
                y -= h;
                return (
                  <rect key={s.key} class={`series-${s.key.toLowerCase()}`} x={x} y={y} width={bw} height={h}>
                    <title>{`${c.title}: ${v} ${s.label}`}</title>
                  </rect>
                );
              })}
              {marks && marks[i]?.value > 0 && (
                <circle class="mark" cx={x + bw / 2} cy={PAD.top + ih - (marks[i].value / max) * ih} r="5">
                  <title>{`${c.title}: ${marks[i].value} ${markLabel}`}</title>
                </circle>
              )}
              {i % every === 0 && <text class="xlabel" x={x + bw / 2} y={H - 8} text-anchor="middle">{c.label}</text>}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {label}
        <ul class="legend">
          {series.map((s) => (
            <li key={s.key}><span class={`swatch series-${s.key.toLowerCase()}`} aria-hidden="true" />{s.label}</li>
          ))}
          {marks && <li><span class="swatch swatch-mark" aria-hidden="true" />{markLabel}</li>}
        </ul>
      </figcaption>
    </figure>
  );
}
