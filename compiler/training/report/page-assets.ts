// The report's constant CSS and script. They are trusted constants (no user text), so they
// are wrapped as Html and inserted unescaped; neither may contain `</`.
import { Html } from './escape.ts';

export const STYLE = new Html(`
body { font: 14px/1.45 system-ui, sans-serif; margin: 20px auto; max-width: 1640px; padding: 0 20px; color: #1b1b1b; }
h1 { font-size: 22px; margin: 0; } h2 { font-size: 15px; margin: 4px 0 8px; }
.sub { color: #666; margin: 2px 0 12px; }
.verdict { border-left: 6px solid; border-radius: 3px; padding: 8px 14px; margin: 10px 0 14px; }
.verdict h2 { font-size: 18px; margin: 0 0 4px; } #verdict-title { text-transform: capitalize; }
.verdict ul { margin: 4px 0; padding-left: 18px; } .verdict li { margin: 2px 0; }
.verdict.good { border-color: #009E73; background: #eef8f4; } .verdict.good #verdict-title { color: #00704f; }
.verdict.warn { border-color: #E69F00; background: #fdf6e8; } .verdict.warn #verdict-title { color: #8a5a00; }
.verdict.bad { border-color: #b00020; background: #fbecee; } .verdict.bad #verdict-title { color: #b00020; }
#headline { font-variant-numeric: tabular-nums; margin: 2px 0; } #advice code { background: #fff; padding: 1px 5px; border: 1px solid #ddd; border-radius: 3px; }
.exit { color: #b00020; font-weight: 600; margin: 4px 0 0; }
.top { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 14px; align-items: start; }
.panel { border: 1px solid #e3e3e3; border-radius: 4px; padding: 10px 14px; background: #fcfcfc; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
.summary th { color: #555; font-weight: normal; white-space: nowrap; } .summary td { overflow-wrap: anywhere; }
.finals td { font-variant-numeric: tabular-nums; font-size: 16px; }
#command { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; background: #f3f3f3; padding: 6px 8px; border-radius: 3px; margin: 0; }
.confusion td { text-align: center; min-width: 44px; padding: 5px 8px; font-variant-numeric: tabular-nums; border: 1px solid #fff; }
.confusion th.pred { text-align: center; font-weight: normal; } .confusion .corner { color: #666; font-weight: normal; font-size: 12px; }
.pr { margin-top: 10px; } .pr td { font-variant-numeric: tabular-nums; padding-right: 16px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px 20px; margin-top: 16px; }
figure.chart { margin: 0; } figure.chart > svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; padding-left: 64px; }
.key { margin-right: 14px; white-space: nowrap; } .key svg { vertical-align: middle; margin-right: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; } svg .title { font-size: 13px; font-weight: 600; }
.grid { stroke: #e6e6e6; } .axis { stroke: #888; } .ref { stroke-dasharray: 2 3; } .zero { stroke: #888; stroke-dasharray: 4 3; }
.best { stroke: #555; stroke-dasharray: 3 3; } svg .bestlabel { fill: #555; font-size: 11px; }
.series { fill: none; stroke-width: 2; stroke-linejoin: round; }
.pt { fill-opacity: 0; stroke: none; } .pt:hover { fill-opacity: 1; }
.dot { fill-opacity: 0.6; } .dot:hover { fill-opacity: 1; }
.nonfinite { stroke: #b00020; stroke-width: 2; }
#warnings li { margin: 3px 0; } #warnings .vanishing b, #warnings .exploding b, #warnings .nonFinite b { color: #b00020; }
`);

// Confirms in the browser that every chart is drawn — curves of non-zero length, a hover
// value on every point, the best-epoch marker and the confusion matrix when present — and
// records the counts on <body> so a headless browser's DOM dump can be checked.
export const VERIFY_SCRIPT = new Html(`
(function () {
  var charts = document.querySelectorAll('figure.chart > svg');
  var drawn = 0, total = 0, ok = charts.length > 0, points = 0, titled = 0;
  charts.forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    if (!(box.width > 100 && box.height > 50)) ok = false;
    var paths = svg.querySelectorAll('path.series'), any = false;
    paths.forEach(function (p) {
      total++;
      var b = p.getBBox();
      if (p.getTotalLength() > 0 && (b.width > 0 || b.height > 0)) { drawn++; any = true; }
    });
    var dots = svg.querySelectorAll('circle.pt, circle.dot');
    dots.forEach(function (c) {
      points++;
      var t = c.querySelector('title');
      if (t && /\\d/.test(t.textContent)) titled++;
    });
    if (!any && dots.length === 0) ok = false;
  });
  if (titled !== points) ok = false;
  var marker = document.querySelectorAll('g.marker line.best').length;
  var cells = document.querySelectorAll('table.confusion td').length;
  var b = document.body;
  b.setAttribute('data-rendered', ok ? 'ok' : 'failed');
  b.setAttribute('data-charts', String(charts.length));
  b.setAttribute('data-paths-drawn', String(drawn));
  b.setAttribute('data-points', String(points));
  b.setAttribute('data-markers', String(marker));
  b.setAttribute('data-confusion-cells', String(cells));
  document.getElementById('render-status').textContent =
    'Rendered ' + charts.length + ' charts, ' + drawn + ' of ' + total + ' curves drawn, ' +
    titled + ' of ' + points + ' points with values.';
})();
`);
