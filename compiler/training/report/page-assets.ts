// The report's constant CSS and script. They are trusted constants (no user text), so they
// are wrapped as Html and inserted unescaped; neither may contain `</`.
import { Html } from './escape.ts';

export const STYLE = new Html(`
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; padding: 0 16px; color: #1b1b1b; }
h1 { font-size: 22px; margin: 0; } h2 { font-size: 16px; margin: 18px 0 6px; }
.sub { color: #666; margin: 2px 0 12px; }
.verdict ul { list-style: none; padding: 0; margin: 0; }
.verdict li { padding: 4px 10px; margin: 3px 0; border-left: 4px solid; border-radius: 2px; }
.verdict .good { border-color: #009E73; background: #eef8f4; }
.verdict .warn { border-color: #E69F00; background: #fdf6e8; }
.verdict .bad { border-color: #b00020; background: #fbecee; }
.grid2 { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; margin-top: 14px; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
.summary th { color: #555; font-weight: normal; } .finals td { font-variant-numeric: tabular-nums; font-size: 16px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px 20px; margin-top: 10px; }
figure.chart { margin: 0; } figcaption { font-size: 12px; padding-left: 64px; }
.key { margin-right: 14px; white-space: nowrap; } .key svg { vertical-align: middle; margin-right: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; } svg .title { font-size: 13px; font-weight: 600; }
.grid { stroke: #e6e6e6; } .axis { stroke: #888; } .ref { stroke-dasharray: 2 3; }
.series { fill: none; stroke-width: 2; stroke-linejoin: round; }
.nonfinite { stroke: #b00020; stroke-width: 2; }
#warnings li { margin: 3px 0; } #warnings .vanishing b, #warnings .exploding b, #warnings .nonFinite b { color: #b00020; }
`);

// Confirms in the browser that every chart has a visibly drawn curve (non-zero length and
// extent), and records the result on <body> so a headless browser's DOM dump can be checked.
export const VERIFY_SCRIPT = new Html(`
(function () {
  var charts = document.querySelectorAll('figure.chart > svg');
  var drawn = 0, total = 0, ok = charts.length > 0;
  charts.forEach(function (svg) {
    var paths = svg.querySelectorAll('path.series'), any = false;
    paths.forEach(function (p) {
      total++;
      var box = p.getBBox();
      if (p.getTotalLength() > 0 && (box.width > 0 || box.height > 0)) { drawn++; any = true; }
    });
    if (!any) ok = false;
  });
  document.body.setAttribute('data-rendered', ok ? 'ok' : 'failed');
  document.body.setAttribute('data-charts', String(charts.length));
  document.body.setAttribute('data-paths-drawn', String(drawn));
  document.getElementById('render-status').textContent =
    'Rendered ' + charts.length + ' charts, ' + drawn + ' of ' + total + ' curves drawn.';
})();
`);
