/** The site's style sheet (assets/site.css). */
export const SITE_STYLE = `body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2733; }
header { position: sticky; top: 0; z-index: 2; background: #1d2733; color: #fff; padding: 8px 24px; display: flex; gap: 16px; align-items: center; }
header a { color: #fff; } header .home { font-weight: 600; }
#search { margin-left: auto; width: 280px; padding: 4px 8px; }
#search-results { position: absolute; right: 24px; top: 40px; background: #fff; color: #1d2733; list-style: none; margin: 0; padding: 0; max-height: 60vh; overflow: auto; box-shadow: 0 2px 8px #0004; min-width: 320px; }
#search-results li a { display: block; padding: 4px 8px; color: #1d2733; text-decoration: none; }
#search-results li a:hover, #search-results li a.active { background: #dbe7f3; }
#search-results small { color: #667; }
main { padding: 8px 24px 48px; }
table.list, table.board { border-collapse: collapse; margin: 8px 0; }
table.list td, table.list th, table.board td, table.board th { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; margin: 0; }
pre.sql { max-width: 100%; }
.diagram { overflow-x: auto; }
.diagram svg { max-width: 100%; height: auto; }
.er-table:hover rect:first-child { stroke-width: 2; }
.note, .meta { color: #556; }
.comment { font-style: italic; }
.outside { color: #667; }
.findings .error strong { color: #b00020; } .findings .warning strong { color: #8a6100; }
td.unreachable { background: #f4f4f4; color: #666; }
.drift-yes { color: #b00020; font-weight: 600; } .drift-no { color: #1a7f37; }
.failed { color: #b00020; } .in-flight { color: #8a6100; font-weight: 600; }
ol.timeline li.failed, ol.timeline li.rolled-back, ol.timeline li.interrupted { color: #b00020; }
`;

/**
 * The search box of every page (assets/search.js): the names of every object (assets/search-index.js, loaded as a
 * script so that it works from the file system, where pages cannot fetch), matched as you type, best first.
 */
export const SEARCH_SCRIPT = `(function () {
  var input = document.getElementById('search');
  var list = document.getElementById('search-results');
  var root = document.body.getAttribute('data-root') || '';
  var index = window.dbeeSearchIndex || [];
  function show(q) {
    list.textContent = '';
    q = q.trim().toLowerCase();
    if (!q) return;
    var hits = [];
    for (var i = 0; i < index.length && hits.length < 200; i++) {
      var name = index[i][0].toLowerCase();
      var at = name.indexOf(q);
      if (at >= 0) hits.push([at === 0 || name.charAt(at - 1) === '.' ? 0 : 1, name.length, index[i]]);
    }
    hits.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    hits.slice(0, 30).forEach(function (h) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = root + h[2][3];
      a.textContent = h[2][0] + ' ';
      var small = document.createElement('small');
      small.textContent = h[2][1] + ' · ' + h[2][2];
      a.appendChild(small);
      li.appendChild(a);
      list.appendChild(li);
    });
  }
  input.addEventListener('input', function () { show(input.value); });
  input.addEventListener('keydown', function (e) {
    var first = list.querySelector('a');
    if (e.key === 'Enter' && first) window.location.href = first.href;
    if (e.key === 'Escape') { input.value = ''; show(''); }
  });
})();
`;
