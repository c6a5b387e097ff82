// The visits-over-time chart: uPlot over the dense series of
// /api/v1/links/{code}/stats (at most 10 000 points, whatever the number of
// visits).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);

export function VisitsChart({ series, interval, label }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    const xs = new Float64Array(series.length);
    const ys = new Float64Array(series.length);
    series.forEach((p, i) => {
      xs[i] = Date.parse(p.t) / 1000;
      ys[i] = p.visits;
    });
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot({
      width: width(),
      height: 240,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { size: 50 }],
      series: [
        {},
        {
          label: 'Visits per ' + interval,
          stroke: '#1d4ed8',
          fill: 'rgba(29, 78, 216, 0.15)',
          width: 2,
          points: { show: series.length <= 60 },
          paths: uPlot.paths.stepped({ align: 1 }),
        },
      ],
    }, [xs, ys], el);
    if (!window.__firstChartMs) window.__firstChartMs = performance.now();
    el.dataset.ready = 'true';
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
      delete el.dataset.ready;
    };
  }, [series, interval]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${label} id="visits-chart"></div>`;
}
