/*
 * dbee graph page: draws the data written by `dbee graph` (<script id="dbee-graph-data">) with Cytoscape.js, at the
 * positions ELK computed when the page was written; "Lay out again" runs ELK (cytoscape-elk) in the page.
 * Plain browser JavaScript, no build step: it is inlined as it is.
 *
 * Data: view.nodes (objects), view.edges (from uses to), view.impact; layout.nodes / layout.groups (boxes: centre x, y
 * and size w, h); layout.separate (many objects: the page opens with every schema collapsed).
 * In the drawing, an edge goes from the object used to the object that uses it (left to right, deployment order).
 * window.dbeeGraph is the page's API for tests and the curious: cy, view, ready, select(key), expand(group), ...
 */
(function () {
  'use strict';

  var started = performance.now();
  var data = JSON.parse(document.getElementById('dbee-graph-data').textContent);
  var timings = { data: performance.now() - started };
  var view = data.view;
  var layout = data.layout;

  /** Shape and colour of each kind of object. */
  var KINDS = {
    schema: { shape: 'rectangle', color: '#8c959f', label: 'schema' },
    database: { shape: 'rectangle', color: '#8c959f', label: 'database' },
    table: { shape: 'round-rectangle', color: '#4e79a7', label: 'table' },
    view: { shape: 'cut-rectangle', color: '#59a14f', label: 'view' },
    'materialized-view': { shape: 'barrel', color: '#3b7d3a', label: 'materialized view' },
    function: { shape: 'ellipse', color: '#f28e2b', label: 'function' },
    aggregate: { shape: 'ellipse', color: '#d37295', label: 'aggregate' },
    procedure: { shape: 'round-hexagon', color: '#e15759', label: 'procedure' },
    macro: { shape: 'round-hexagon', color: '#ff9d9a', label: 'macro' },
    trigger: { shape: 'round-tag', color: '#b07aa1', label: 'trigger' },
    index: { shape: 'bottom-round-rectangle', color: '#9c755f', label: 'index' },
    'join-index': { shape: 'bottom-round-rectangle', color: '#9c755f', label: 'join index' },
    'hash-index': { shape: 'bottom-round-rectangle', color: '#9c755f', label: 'hash index' },
    sequence: { shape: 'octagon', color: '#76b7b2', label: 'sequence' },
    type: { shape: 'round-pentagon', color: '#edc948', label: 'type' },
    domain: { shape: 'round-pentagon', color: '#c9a227', label: 'domain' },
    policy: { shape: 'round-diamond', color: '#ff9da7', label: 'policy' },
    extension: { shape: 'rectangle', color: '#bab0ac', label: 'extension' },
    role: { shape: 'rectangle', color: '#bab0ac', label: 'role' },
    user: { shape: 'rectangle', color: '#bab0ac', label: 'user' },
    constraint: { shape: 'rectangle', color: '#bab0ac', label: 'constraint' },
    other: { shape: 'rectangle', color: '#bab0ac', label: 'other' },
  };
  var IMPACT = {
    created: '#b7e4c7',
    altered: '#ffe8a3',
    replaced: '#ffd0a1',
    dropped: '#f5b5b5',
    unchanged: '#eeeeee',
  };
  var IMPACT_BORDER = {
    created: '#2da44e',
    altered: '#bf8700',
    replaced: '#e16f24',
    dropped: '#cf222e',
    unchanged: '#d0d7de',
  };

  function kindOf(k) {
    return KINDS[k] || KINDS.other;
  }
  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'class') e.className = attrs[k];
        else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
        else e.setAttribute(k, attrs[k]);
      });
    (children || []).forEach(function (c) {
      if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many || one + 's');
  }
  function fmt(n) {
    return n.toLocaleString('en-US');
  }

  // ---- the graph as data: indices, groups, closures --------------------------------------------------------------

  /** The same grouping as layout.ts: a schema's own object is drawn inside that schema. */
  function schemaOf(n) {
    return n.schema !== '' ? n.schema : n.kind === 'schema' || n.kind === 'database' ? n.name : '(cluster)';
  }
  function projectGroup(p) {
    return 'P:' + p;
  }
  function schemaGroup(p, s) {
    return 'S:' + p + ':' + s;
  }
  function collapsedId(group) {
    return 'C:' + group.slice(2);
  }

  var byKey = new Map();
  var groups = new Map(); // schema group id -> { id, project, schema, keys: [] }
  view.nodes.forEach(function (n) {
    byKey.set(n.key, n);
    var g = schemaGroup(n.project, schemaOf(n));
    n.group = g;
    if (!groups.has(g)) groups.set(g, { id: g, project: n.project, schema: schemaOf(n), keys: [] });
    groups.get(g).keys.push(n.key);
  });
  var uses = new Map(); // key -> edge indexes where it is `from`
  var usedBy = new Map(); // key -> edge indexes where it is `to`
  view.edges.forEach(function (e, i) {
    if (!uses.has(e.from)) uses.set(e.from, []);
    uses.get(e.from).push(i);
    if (!usedBy.has(e.to)) usedBy.set(e.to, []);
    usedBy.get(e.to).push(i);
  });

  /** Every object reachable from `key` through `index` (uses: its dependencies; usedBy: its dependents). */
  function closure(key, index, far) {
    var seen = new Set();
    var stack = [key];
    while (stack.length) {
      var k = stack.pop();
      var list = index.get(k) || [];
      for (var i = 0; i < list.length; i++) {
        var e = view.edges[list[i]];
        var next = far === 'to' ? e.to : e.from;
        if (next !== key && !seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
    return seen;
  }

  // ---- state -----------------------------------------------------------------------------------------------------

  var collapsed = new Set(layout.separate ? Array.from(groups.keys()) : []);
  var allowed = { kind: null, project: null, schema: null }; // null: everything
  var selected = null;
  var numbering = 'none';
  var large = view.nodes.length > 1500;
  /**
   * Collapsed schemas keep the size of their laid-out box (expanding one moves nothing), which at 10,000 objects is
   * thousands of pixels: their labels, borders and the edges between them grow with the drawing so they stay readable.
   */
  var boxScale = 1;
  Object.keys(layout.groups).forEach(function (id) {
    var b = layout.groups[id];
    boxScale = Math.max(boxScale, Math.max(b.w, b.h) / 700);
  });

  function labelOf(n) {
    var prefix = '';
    if (numbering === 'order' && n.order !== null) prefix = '#' + n.order + ' ';
    if (numbering === 'steps' && n.steps && n.steps.length) prefix = '[' + n.steps.join(',') + '] ';
    return prefix + n.name;
  }

  // ---- elements --------------------------------------------------------------------------------------------------

  function nodeElement(n) {
    var box = layout.nodes[n.key] || { x: 0, y: 0, w: 80, h: 26 };
    var classes = 'object k-' + n.kind + (n.external ? ' external' : '') + (n.impact ? ' impact-' + n.impact : '');
    return {
      group: 'nodes',
      data: { id: n.key, parent: n.group, label: labelOf(n), kind: n.kind, w: box.w, h: box.h },
      position: { x: box.x, y: box.y },
      classes: classes,
    };
  }
  function groupLabel(g) {
    return 'schema ' + g.schema;
  }
  function collapsedElement(g) {
    var box = layout.groups[g.id] || { x: 0, y: 0, w: 200, h: 80 };
    var touched = view.impact
      ? g.keys.filter(function (k) {
          var i = byKey.get(k).impact;
          return i && i !== 'unchanged';
        }).length
      : 0;
    var label =
      groupLabel(g) +
      '\n' +
      plural(g.keys.length, 'object') +
      (touched ? ' · ' + touched + ' changed' : '') +
      '\ndouble-click to expand';
    return {
      group: 'nodes',
      data: {
        id: collapsedId(g.id),
        parent: projectGroup(g.project),
        label: label,
        group: g.id,
        w: Math.max(160, box.w),
        h: Math.max(70, box.h),
        fs: 16 * boxScale,
        bw: 2 * boxScale,
      },
      position: { x: box.x, y: box.y },
      classes: 'collapsed' + (touched ? ' has-impact' : ''),
    };
  }
  function groupElements(g) {
    if (collapsed.has(g.id)) return [collapsedElement(g)];
    var out = [
      {
        group: 'nodes',
        data: { id: g.id, parent: projectGroup(g.project), label: groupLabel(g) },
        classes: 'schema-group',
      },
    ];
    g.keys.forEach(function (k) {
      out.push(nodeElement(byKey.get(k)));
    });
    return out;
  }
  /** Where an object's edges end in the drawing: itself, or its collapsed schema. */
  function endpoint(key) {
    var n = byKey.get(key);
    return collapsed.has(n.group) ? collapsedId(n.group) : key;
  }
  function edgeElements() {
    var out = [];
    var meta = new Map();
    view.edges.forEach(function (e, i) {
      var a = endpoint(e.to);
      var b = endpoint(e.from);
      if (a === e.to && b === e.from) {
        out.push({
          group: 'edges',
          data: { id: 'e' + i, source: a, target: b, kind: e.kind, index: i },
          classes: 'dep' + (e.kind === 'schema' ? ' schema-edge' : ''),
        });
      } else if (a !== b && e.kind !== 'schema') {
        var id = 'm:' + a + '>' + b;
        var m = meta.get(id);
        if (!m)
          meta.set(id, (m = { group: 'edges', data: { id: id, source: a, target: b, count: 0 }, classes: 'meta' }));
        m.data.count++;
      }
    });
    meta.forEach(function (m) {
      m.data.label = String(m.data.count);
      m.data.width = Math.min(8, 1 + Math.log2(m.data.count)) * boxScale;
      m.data.fs = 12 * boxScale;
      out.push(m);
    });
    return out;
  }
  function allElements() {
    var out = [];
    var projects = new Set();
    groups.forEach(function (g) {
      if (!projects.has(g.project)) {
        projects.add(g.project);
        out.push({
          group: 'nodes',
          data: { id: projectGroup(g.project), label: 'project ' + g.project },
          classes: 'project',
        });
      }
      out.push.apply(out, groupElements(g));
    });
    return out.concat(edgeElements());
  }

  // ---- style -----------------------------------------------------------------------------------------------------

  var style = [
    { selector: 'node', style: { 'font-size': 11, 'min-zoomed-font-size': 6 } },
    {
      selector: 'node.object',
      style: {
        width: 'data(w)',
        height: 'data(h)',
        label: 'data(label)',
        'text-valign': 'center',
        'text-halign': 'center',
        color: '#ffffff',
        'text-outline-width': 0,
        'border-width': 1,
        'border-color': 'rgba(0,0,0,0.35)',
        'text-max-width': '230px',
        'text-wrap': 'ellipsis',
      },
    },
    {
      selector: 'node.project',
      style: {
        label: 'data(label)',
        'text-valign': 'top',
        'text-halign': 'center',
        'font-size': 14,
        'font-weight': 'bold',
        color: '#24292f',
        'background-color': '#f6f8fa',
        'background-opacity': 1,
        'border-width': 1,
        'border-color': '#8c959f',
        shape: 'round-rectangle',
        padding: 14,
      },
    },
    {
      selector: 'node.schema-group',
      style: {
        label: 'data(label)',
        'text-valign': 'top',
        'text-halign': 'center',
        'font-size': 12,
        color: '#57606a',
        'background-color': '#ffffff',
        'border-width': 1,
        'border-style': 'dashed',
        'border-color': '#8c959f',
        shape: 'round-rectangle',
        padding: 12,
      },
    },
    {
      selector: 'node.collapsed',
      style: {
        width: 'data(w)',
        height: 'data(h)',
        label: 'data(label)',
        'text-wrap': 'wrap',
        'text-valign': 'center',
        'text-halign': 'center',
        'font-size': 'data(fs)',
        color: '#24292f',
        'background-color': '#eaeef2',
        'border-width': 'data(bw)',
        'border-style': 'dashed',
        'border-color': '#57606a',
        shape: 'round-rectangle',
      },
    },
    { selector: 'node.collapsed.has-impact', style: { 'background-color': '#fff8c5' } },
    {
      selector: 'edge',
      style: {
        width: 1,
        'line-color': '#afb8c1',
        'target-arrow-color': '#afb8c1',
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.7,
        'curve-style': 'straight',
      },
    },
    { selector: 'edge.schema-edge', style: { display: 'none', 'line-style': 'dotted' } },
    { selector: 'edge.schema-edge.shown', style: { display: 'element' } },
    { selector: 'edge[kind = "foreign key"]', style: { 'line-style': 'dashed' } },
    {
      selector: 'edge.meta',
      style: {
        width: 'data(width)',
        label: 'data(label)',
        'font-size': 'data(fs)',
        'arrow-scale': 1.5,
        color: '#57606a',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.8,
        'line-color': '#8c959f',
        'target-arrow-color': '#8c959f',
        'curve-style': 'straight',
        opacity: 0.5,
      },
    },
    { selector: 'node.external', style: { 'border-style': 'dashed', 'border-width': 2, opacity: 0.75 } },
    { selector: '.hidden', style: { display: 'none' } },
    { selector: 'node.match', style: { 'border-width': 4, 'border-color': '#bf3989' } },
    { selector: '.faded', style: { opacity: 0.15 } },
    { selector: 'node.upstream', style: { 'border-width': 4, 'border-color': '#0969da', opacity: 1 } },
    { selector: 'node.downstream', style: { 'border-width': 4, 'border-color': '#fb8500', opacity: 1 } },
    {
      selector: 'edge.upstream',
      style: { 'line-color': '#0969da', 'target-arrow-color': '#0969da', width: 2, opacity: 1 },
    },
    {
      selector: 'edge.downstream',
      style: { 'line-color': '#fb8500', 'target-arrow-color': '#fb8500', width: 2, opacity: 1 },
    },
    {
      selector: 'node.collapsed.has-upstream',
      style: { 'border-color': '#0969da', 'border-style': 'solid', opacity: 1 },
    },
    {
      selector: 'node.collapsed.has-downstream',
      style: { 'border-color': '#fb8500', 'border-style': 'solid', opacity: 1 },
    },
    {
      selector: 'node.focus',
      style: { 'border-width': 6, 'border-color': '#24292f', 'border-style': 'solid', opacity: 1, 'z-index': 10 },
    },
  ];
  Object.keys(KINDS).forEach(function (k) {
    style.splice(3, 0, {
      selector: 'node.k-' + k,
      style: { shape: KINDS[k].shape, 'background-color': KINDS[k].color },
    });
  });
  if (view.impact) {
    Object.keys(IMPACT).forEach(function (i) {
      style.push({
        selector: 'node.object.impact-' + i,
        style: {
          'background-color': IMPACT[i],
          color: i === 'unchanged' ? '#8c959f' : '#24292f',
          'border-color': IMPACT_BORDER[i],
          'border-width': i === 'unchanged' ? 1 : 3,
          opacity: i === 'unchanged' ? 0.45 : 1,
        },
      });
    });
    // Selection and search marks win over the impact colours.
    style.push(
      { selector: 'node.object.upstream', style: { 'border-color': '#0969da', 'border-width': 4, opacity: 1 } },
      { selector: 'node.object.downstream', style: { 'border-color': '#fb8500', 'border-width': 4, opacity: 1 } },
      { selector: 'node.object.focus', style: { 'border-color': '#24292f', 'border-width': 6, opacity: 1 } },
      { selector: 'node.object.match', style: { 'border-color': '#bf3989', 'border-width': 4 } },
    );
  }

  // ---- the drawing -----------------------------------------------------------------------------------------------

  var initial = allElements();
  timings.elements = performance.now() - started;
  var cy = cytoscape({
    container: $('cy'),
    elements: initial,
    style: style,
    layout: { name: 'preset', fit: true, padding: 30 },
    minZoom: 0.02,
    maxZoom: 3,
    boxSelectionEnabled: false,
    selectionType: 'single',
    textureOnViewport: large,
    hideEdgesOnViewport: large,
    pixelRatio: large ? 1 : 'auto',
  });

  timings.cytoscape = performance.now() - started;

  // ---- the opening view ------------------------------------------------------------------------------------------
  // The whole drawing fitted into the window is unreadable once it is large (labels vanish below 6 px on screen): the
  // page opens fitted only when that leaves labels readable; otherwise at a readable zoom on what the pending change
  // touches (its objects), else where the layered layout starts (the objects nothing depends on, on the left).
  // "Fit" shows everything.
  var READABLE_ZOOM = 0.8;
  function openingView() {
    var shown = cy.elements(':visible');
    cy.fit(shown, 30);
    if (cy.zoom() >= READABLE_ZOOM || large) return;
    var touched = cy.nodes('.object').filter(function (n) {
      var impact = byKey.get(n.id()).impact;
      return Boolean(impact) && impact !== 'unchanged';
    });
    var box = shown.boundingBox();
    cy.zoom(READABLE_ZOOM);
    if (touched.nonempty()) {
      cy.fit(touched, 30);
      if (cy.zoom() > 1.2 || cy.zoom() < READABLE_ZOOM) cy.zoom(Math.min(1.2, Math.max(READABLE_ZOOM, cy.zoom())));
      cy.center(touched);
    } else {
      // The left edge of the drawing, its upper part in view.
      cy.pan({ x: 30 - box.x1 * READABLE_ZOOM, y: 30 - box.y1 * READABLE_ZOOM });
    }
  }
  openingView();

  // ---- filters, numbering, counts --------------------------------------------------------------------------------

  function visibleObject(n) {
    return (
      (!allowed.kind || allowed.kind.has(n.kind)) &&
      (!allowed.project || allowed.project.has(n.project)) &&
      (!allowed.schema || allowed.schema.has(schemaOf(n)))
    );
  }
  function applyFilters() {
    cy.batch(function () {
      cy.nodes('.object').forEach(function (node) {
        var n = byKey.get(node.id());
        if (visibleObject(n)) node.removeClass('hidden');
        else node.addClass('hidden');
      });
      cy.nodes('.collapsed').forEach(function (node) {
        var g = groups.get(node.data('group'));
        var shown =
          (!allowed.project || allowed.project.has(g.project)) && (!allowed.schema || allowed.schema.has(g.schema));
        if (shown) node.removeClass('hidden');
        else node.addClass('hidden');
      });
      cy.nodes('.schema-group, .project').forEach(function (node) {
        var anyVisible =
          node.descendants().filter(function (d) {
            return !d.hasClass('hidden') && !d.isParent();
          }).length > 0;
        if (anyVisible) node.removeClass('hidden');
        else node.addClass('hidden');
      });
    });
    updateCounts();
  }
  function updateCounts() {
    var shown = view.nodes.filter(visibleObject).length;
    $('count-nodes').textContent =
      fmt(view.nodes.length) + (shown < view.nodes.length ? ' (' + fmt(shown) + ' shown)' : '');
    $('count-edges').textContent = fmt(view.edges.length);
  }
  function applyNumbering() {
    cy.batch(function () {
      cy.nodes('.object').forEach(function (node) {
        node.data('label', labelOf(byKey.get(node.id())));
      });
    });
  }

  function buildFilter(dimension, values, describe) {
    var box = document.querySelector('#filter-' + dimension + ' .options');
    var summary = document.querySelector('#filter-' + dimension + ' summary');
    var boxes = [];
    var all = el('input', { type: 'checkbox', checked: 'checked' });
    box.appendChild(el('label', { class: 'all' }, [all, 'all']));
    values.forEach(function (v) {
      var cb = el('input', { type: 'checkbox', checked: 'checked', value: v, 'data-value': v });
      boxes.push(cb);
      box.appendChild(el('label', null, [cb].concat(describe ? describe(v) : [v])));
    });
    function update() {
      var on = boxes
        .filter(function (b) {
          return b.checked;
        })
        .map(function (b) {
          return b.value;
        });
      allowed[dimension] = on.length === boxes.length ? null : new Set(on);
      all.checked = on.length === boxes.length;
      all.indeterminate = on.length > 0 && on.length < boxes.length;
      summary.classList.toggle('filtered', on.length < boxes.length);
      applyFilters();
    }
    all.addEventListener('change', function () {
      boxes.forEach(function (b) {
        b.checked = all.checked;
      });
      update();
    });
    boxes.forEach(function (b) {
      b.addEventListener('change', update);
    });
  }
  function kindSwatch(k) {
    return [
      el('span', { class: 'swatch', style: 'background:' + kindOf(k).color }),
      kindOf(k).label +
        ' (' +
        view.nodes.filter(function (n) {
          return n.kind === k;
        }).length +
        ')',
    ];
  }
  buildFilter('kind', data.filters.kinds, kindSwatch);
  buildFilter('project', data.filters.projects);
  buildFilter('schema', Array.from(new Set(view.nodes.map(schemaOf))).sort());

  // ---- selection: definition, dependencies, blast radius ---------------------------------------------------------

  var MARKS = 'faded upstream downstream focus has-upstream has-downstream';
  /** Only the elements that carry a mark: restyling every element of a large drawing costs seconds. */
  function clearMarks() {
    cy.batch(function () {
      cy.elements('.faded, .upstream, .downstream, .focus, .has-upstream, .has-downstream').removeClass(MARKS);
    });
  }
  function expandGroup(groupId) {
    if (!collapsed.has(groupId)) return;
    collapsed.delete(groupId);
    rebuild([groupId]);
  }
  function collapseGroup(groupId) {
    if (collapsed.has(groupId)) return;
    collapsed.add(groupId);
    if (selected && byKey.get(selected).group === groupId) selected = null;
    rebuild([groupId]);
  }
  /** Replace the elements of the given schema groups and every edge, keeping the rest of the drawing as it is. */
  function rebuild(groupIds) {
    cy.batch(function () {
      cy.edges().remove();
      groupIds.forEach(function (id) {
        var g = groups.get(id);
        cy.getElementById(collapsedId(id)).remove();
        var group = cy.getElementById(id);
        if (group.nonempty()) {
          group.children().remove();
          group.remove();
        }
        cy.add(groupElements(g));
      });
      cy.add(edgeElements());
      if ($('schema-edges').checked) cy.edges('.schema-edge').addClass('shown');
    });
    applyFilters();
    if (selected) select(selected, { keepView: true });
    else clearMarks();
  }

  function select(key, opts) {
    var n = byKey.get(key);
    if (!n) return;
    opts = opts || {};
    if (collapsed.has(n.group)) expandGroup(n.group);
    selected = key;
    var up = closure(key, uses, 'to');
    var down = closure(key, usedBy, 'from');
    // Above a few thousand drawn elements the rest is not faded (that restyles everything): the colours alone mark it.
    var fade = cy.elements().length <= 6000;
    clearMarks();
    cy.batch(function () {
      if (fade) cy.elements('.object, .collapsed, edge').addClass('faded');
      var node = cy.getElementById(key);
      node.removeClass('faded').addClass('focus');
      up.forEach(function (k) {
        var x = cy.getElementById(k);
        if (x.nonempty()) x.removeClass('faded').addClass('upstream');
      });
      down.forEach(function (k) {
        var x = cy.getElementById(k);
        if (x.nonempty()) x.removeClass('faded').addClass('downstream');
      });
      cy.edges('.dep').forEach(function (edge) {
        var e = view.edges[edge.data('index')];
        if ((e.to === key || down.has(e.to)) && down.has(e.from)) edge.removeClass('faded').addClass('downstream');
        else if ((e.from === key || up.has(e.from)) && up.has(e.to)) edge.removeClass('faded').addClass('upstream');
      });
      cy.nodes('.collapsed').forEach(function (c) {
        var g = groups.get(c.data('group'));
        var hasDown = g.keys.some(function (k) {
          return down.has(k);
        });
        var hasUp = g.keys.some(function (k) {
          return up.has(k);
        });
        if (hasDown || hasUp) c.removeClass('faded');
        if (hasDown) c.addClass('has-downstream');
        else if (hasUp) c.addClass('has-upstream');
      });
    });
    showPanel(n, up, down);
    if (!opts.keepView) {
      var target = cy.getElementById(key);
      if (opts.center) cy.animate({ center: { eles: target }, zoom: Math.max(cy.zoom(), 0.9) }, { duration: 250 });
    }
  }
  function clearSelection() {
    selected = null;
    clearMarks();
    $('panel-node').hidden = true;
    $('panel-empty').hidden = false;
  }

  function objectLink(k, via) {
    var n = byKey.get(k);
    var a = el(
      'a',
      {
        'data-key': k,
        title: k,
        onclick: function () {
          select(k, { center: true });
        },
      },
      [n.name],
    );
    return el('li', null, [
      a,
      ' ',
      el('span', {
        class: 'via',
        text: kindOf(n.kind).label + (n.schema ? ' · ' + n.schema : '') + (via ? ' · ' + via : ''),
      }),
    ]);
  }
  /** Objects of `set`, direct ones first (with the kind of reference), then by deployment order. */
  function listOf(set, direct) {
    var keys = Array.from(set);
    keys.sort(function (a, b) {
      var da = direct.has(a) ? 0 : 1;
      var db = direct.has(b) ? 0 : 1;
      if (da !== db) return da - db;
      var oa = byKey.get(a).order || 1e9;
      var ob = byKey.get(b).order || 1e9;
      return oa - ob || (a < b ? -1 : 1);
    });
    return el(
      'ul',
      null,
      keys.map(function (k) {
        return objectLink(k, direct.get(k));
      }),
    );
  }
  function showPanel(n, up, down) {
    var directUp = new Map();
    (uses.get(n.key) || []).forEach(function (i) {
      var e = view.edges[i];
      directUp.set(e.to, (directUp.has(e.to) ? directUp.get(e.to) + ', ' : '') + e.kind);
    });
    var directDown = new Map();
    (usedBy.get(n.key) || []).forEach(function (i) {
      var e = view.edges[i];
      directDown.set(e.from, (directDown.has(e.from) ? directDown.get(e.from) + ', ' : '') + e.kind);
    });
    var panel = $('panel-node');
    panel.textContent = '';
    var rows = [
      ['kind', kindOf(n.kind).label],
      ['project', n.project + (n.external ? ' (a dependency: only what is used is drawn)' : '')],
      ['schema', n.schema || '-'],
      ['file', n.file ? n.file + ':' + n.line : 'not in the sources'],
    ];
    if (n.parent) rows.push(['on', n.parent]);
    if (n.order !== null)
      rows.push([
        'plan order',
        '#' +
          n.order +
          ' of ' +
          view.nodes.filter(function (x) {
            return x.order !== null;
          }).length,
      ]);
    if (n.impact)
      rows.push(['impact', n.impact + (n.steps && n.steps.length ? ' (step ' + n.steps.join(', ') + ')' : '')]);
    var dl = el('dl');
    rows.forEach(function (r) {
      dl.appendChild(el('dt', { text: r[0] }));
      dl.appendChild(el('dd', { text: r[1] }));
    });
    panel.appendChild(el('h2', { id: 'panel-title', text: n.name }));
    panel.appendChild(el('div', { class: 'key', text: n.key }));
    panel.appendChild(dl);
    panel.appendChild(
      el('h3', null, [
        'Used by, transitively (blast radius) ',
        el('span', { class: 'count down', id: 'count-downstream', text: String(down.size) }),
      ]),
    );
    panel.appendChild(
      down.size
        ? listOf(down, directDown)
        : el('p', { class: 'muted', text: 'Nothing in the drawn projects uses it.' }),
    );
    panel.appendChild(
      el('h3', null, [
        'Depends on, transitively ',
        el('span', { class: 'count up', id: 'count-upstream', text: String(up.size) }),
      ]),
    );
    panel.appendChild(
      up.size ? listOf(up, directUp) : el('p', { class: 'muted', text: 'It uses no other object of the sources.' }),
    );
    panel.appendChild(el('h3', { text: 'Definition' }));
    panel.appendChild(el('pre', { id: 'panel-source', text: n.source }));
    $('panel-empty').hidden = true;
    panel.hidden = false;
  }
  function showGroupPanel(g, isCollapsed) {
    var panel = $('panel-node');
    panel.textContent = '';
    panel.appendChild(el('h2', { text: groupLabel(g) }));
    panel.appendChild(
      el('div', { class: 'key', text: 'project ' + g.project + ' · ' + plural(g.keys.length, 'object') }),
    );
    panel.appendChild(
      el('p', null, [
        el(
          'button',
          {
            type: 'button',
            onclick: function () {
              if (isCollapsed) expandGroup(g.id);
              else collapseGroup(g.id);
              showGroupPanel(g, !isCollapsed);
            },
          },
          [isCollapsed ? 'Expand' : 'Collapse'],
        ),
      ]),
    );
    var kinds = {};
    g.keys.forEach(function (k) {
      var kind = byKey.get(k).kind;
      kinds[kind] = (kinds[kind] || 0) + 1;
    });
    panel.appendChild(
      el(
        'ul',
        null,
        Object.keys(kinds)
          .sort()
          .map(function (k) {
            return el('li', null, [
              el('span', { class: 'swatch', style: 'background:' + kindOf(k).color }),
              ' ' + kindOf(k).label + ': ' + kinds[k],
            ]);
          }),
      ),
    );
    $('panel-empty').hidden = true;
    panel.hidden = false;
  }

  // One handler: a tap on an object also reaches its schema and project (events bubble up compound nodes).
  cy.on('tap', function (evt) {
    var t = evt.target;
    if (t === cy) clearSelection();
    else if (t.hasClass('object')) select(t.id());
    else if (t.hasClass('collapsed')) showGroupPanel(groups.get(t.data('group')), true);
    else if (t.hasClass('schema-group')) showGroupPanel(groups.get(t.id()), false);
  });
  cy.on('dbltap', function (evt) {
    if (evt.target !== cy && evt.target.hasClass('collapsed')) expandGroup(evt.target.data('group'));
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') clearSelection();
  });

  // ---- edge tooltips ---------------------------------------------------------------------------------------------

  var tooltip = $('tooltip');
  cy.on('mouseover', 'edge', function (evt) {
    var edge = evt.target;
    var text;
    if (edge.hasClass('meta')) {
      text =
        plural(edge.data('count'), 'dependency', 'dependencies') +
        ' between ' +
        edge.source().data('label').split('\n')[0] +
        ' and ' +
        edge.target().data('label').split('\n')[0];
    } else {
      var e = view.edges[edge.data('index')];
      var from = byKey.get(e.from);
      var to = byKey.get(e.to);
      text =
        kindOf(from.kind).label +
        ' ' +
        from.name +
        ' uses ' +
        kindOf(to.kind).label +
        ' ' +
        to.name +
        ' — ' +
        e.kind +
        (e.file ? ' (' + e.file + ':' + e.line + ')' : '');
    }
    tooltip.textContent = text;
    tooltip.hidden = false;
    var oe = evt.originalEvent;
    if (oe) {
      tooltip.style.left = oe.clientX + 12 + 'px';
      tooltip.style.top = oe.clientY + 12 + 'px';
    }
  });
  cy.on('mouseout', 'edge', function () {
    tooltip.hidden = true;
  });

  // ---- search ----------------------------------------------------------------------------------------------------

  var matches = [];
  var matchIndex = -1;
  var lastQuery = null;
  function runSearch() {
    var q = $('search').value.trim().toLowerCase();
    if (q === lastQuery) return;
    lastQuery = q;
    matches = q
      ? view.nodes
          .filter(function (n) {
            return n.name.toLowerCase().indexOf(q) >= 0 || n.key.toLowerCase().indexOf(q) >= 0;
          })
          .map(function (n) {
            return n.key;
          })
      : [];
    matchIndex = -1;
    var set = new Set(matches);
    cy.batch(function () {
      cy.nodes('.object').forEach(function (node) {
        if (set.has(node.id())) node.addClass('match');
        else node.removeClass('match');
      });
    });
    $('search-result').textContent = q ? plural(matches.length, 'match', 'matches') : '';
  }
  var searchTimer = null;
  $('search').addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 120);
  });
  $('search').addEventListener('keydown', function (e) {
    if (e.key !== 'Enter') return;
    clearTimeout(searchTimer);
    runSearch();
    if (!matches.length) return;
    matchIndex = (matchIndex + 1) % matches.length;
    select(matches[matchIndex], { center: true });
    cy.getElementById(matches[matchIndex]).addClass('match');
    $('search-result').textContent = matchIndex + 1 + ' of ' + plural(matches.length, 'match', 'matches');
  });

  // ---- toolbar ---------------------------------------------------------------------------------------------------

  $('numbering').addEventListener('change', function () {
    numbering = this.value;
    applyNumbering();
  });
  if (!view.impact) $('numbering').querySelector('option[value="steps"]').remove();
  $('schema-edges').addEventListener('change', function () {
    var on = this.checked;
    cy.batch(function () {
      cy.edges('.schema-edge').forEach(function (e) {
        if (on) e.addClass('shown');
        else e.removeClass('shown');
      });
    });
  });
  $('expand-all').addEventListener('click', function () {
    var ids = Array.from(collapsed);
    collapsed.clear();
    rebuild(ids);
  });
  $('collapse-all').addEventListener('click', function () {
    var ids = Array.from(groups.keys()).filter(function (id) {
      return !collapsed.has(id);
    });
    ids.forEach(function (id) {
      collapsed.add(id);
    });
    selected = null;
    rebuild(ids);
  });
  $('fit').addEventListener('click', function () {
    cy.fit(cy.elements(':visible'), 30);
  });
  $('relayout').addEventListener('click', function () {
    var button = this;
    button.disabled = true;
    button.textContent = 'Laying out…';
    setTimeout(function () {
      var l = cy.elements(':visible').layout({
        name: 'elk',
        fit: true,
        padding: 30,
        nodeDimensionsIncludeLabels: false,
        elk: {
          algorithm: 'layered',
          'elk.direction': 'RIGHT',
          'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
          'elk.spacing.nodeNode': 14,
          'elk.layered.spacing.nodeNodeBetweenLayers': 36,
          'elk.padding': '[top=34,left=14,bottom=14,right=14]',
        },
      });
      l.one('layoutstop', function () {
        button.disabled = false;
        button.textContent = 'Lay out again';
      });
      l.run();
    }, 20);
  });

  // ---- title, impact bar, legend ---------------------------------------------------------------------------------

  $('title').textContent = 'dbee graph · ' + view.projects.join(', ');
  if (view.impact) {
    var bar = $('impact-bar');
    bar.appendChild(el('strong', { text: 'Impact: ' + view.impact.from + ' → ' + view.impact.to }));
    bar.appendChild(el('span', { text: plural(view.impact.steps, 'step') }));
    ['created', 'altered', 'replaced', 'dropped', 'unchanged'].forEach(function (i) {
      var count =
        i === 'unchanged'
          ? view.nodes.filter(function (n) {
              return n.impact === 'unchanged';
            }).length
          : view.impact.counts[i];
      bar.appendChild(el('span', { class: 'tag impact-' + i, 'data-impact': i, text: i + ': ' + count }));
    });
    bar.hidden = false;
  }
  var legend = $('legend');
  data.filters.kinds.forEach(function (k) {
    legend.appendChild(
      el('span', null, [el('span', { class: 'swatch', style: 'background:' + kindOf(k).color }), kindOf(k).label]),
    );
  });
  legend.appendChild(
    el('span', null, [
      el('span', { class: 'swatch', style: 'background:#fff;border:2px solid #0969da' }),
      'depends on',
    ]),
  );
  legend.appendChild(
    el('span', null, [
      el('span', { class: 'swatch', style: 'background:#fff;border:2px solid #fb8500' }),
      'used by (blast radius)',
    ]),
  );
  if (!layout.separate && groups.size < 2) {
    $('expand-all').hidden = true;
    $('collapse-all').hidden = true;
  }

  updateCounts();

  // ---- API, ready ------------------------------------------------------------------------------------------------

  var api = {
    cy: cy,
    view: view,
    ready: false,
    /** Milliseconds from navigation start until the drawing answers clicks. */
    interactiveAt: null,
    select: select,
    clearSelection: clearSelection,
    expand: expandGroup,
    collapse: collapseGroup,
    collapsedGroups: function () {
      return Array.from(collapsed);
    },
    closure: function (key) {
      return { dependsOn: Array.from(closure(key, uses, 'to')), usedBy: Array.from(closure(key, usedBy, 'from')) };
    },
    scriptMs: null,
    /** Milliseconds since the script started: data parsed, elements built, Cytoscape created, first frames drawn. */
    timings: timings,
  };
  window.dbeeGraph = api;
  cy.ready(function () {
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        api.ready = true;
        api.interactiveAt = performance.now();
        api.scriptMs = timings.drawn = performance.now() - started;
        document.documentElement.setAttribute('data-ready', 'true');
      });
    });
  });
})();
