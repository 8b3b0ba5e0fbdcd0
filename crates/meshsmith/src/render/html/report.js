"use strict";
// meshsmith report: collapsing and expanding namespaces (the clusters are stacked by the same
// rule meshsmith used to write the picture), zoom, and the values of a clicked service or call.
(function () {
  var FOLDED_W = 200, FOLDED_H = 58, GAP_X = 90, GAP_Y = 30, MARGIN = 24;
  var NODE_W = 172, NODE_H = 36;
  var data = JSON.parse(document.getElementById("meshsmith-data").textContent);
  var details = document.getElementById("details");
  var graphs = [];
  var zoom = 1;

  function num(el, name) { return parseInt(el.getAttribute("data-" + name), 10) || 0; }

  function Graph(svg) {
    var g = this;
    g.svg = svg;
    g.boxes = {};
    g.members = {};
    g.services = {};
    g.hosts = {};
    g.spaces = {};
    g.edges = [];
    Array.prototype.forEach.call(svg.querySelectorAll("g.box"), function (b) {
      g.boxes[b.getAttribute("data-cluster")] = b;
    });
    Array.prototype.forEach.call(svg.querySelectorAll("g.members"), function (m) {
      g.members[m.getAttribute("data-cluster")] = m;
    });
    Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (n) {
      n.cluster = n.parentNode.getAttribute("data-cluster");
      var d = n.dataset;
      if (d.service) { g.services[d.service] = n; }
      if (d.host) { g.hosts[d.host] = n; }
      if (d.openNs) { g.spaces[d.openNs] = n; }
    });
    // An edge names its ends as the nodes name themselves: a service, a host, a namespace.
    Array.prototype.forEach.call(svg.querySelectorAll("path.edge"), function (e) {
      var d = e.dataset;
      e.a = g.services[d.from] || g.spaces[d.fromNs];
      e.b = g.services[d.to] || g.hosts[d.host] || g.spaces[d.toNs];
      if (e.a && e.b) { g.edges.push(e); }
    });
    g.width = num(svg, "w") || parseInt(svg.getAttribute("width"), 10);
    g.height = parseInt(svg.getAttribute("height"), 10);
  }

  Graph.prototype.folded = function (c) { return this.boxes[c].classList.contains("folded"); };

  // Columns left to right, each as wide as its widest cluster; clusters stacked by rank and
  // centred in their column; columns centred on the tallest (as meshsmith's `place`).
  Graph.prototype.place = function () {
    var g = this, slots = [], colW = [], colH = [];
    Object.keys(g.boxes).forEach(function (c) {
      var b = g.boxes[c], folded = g.folded(c);
      var s = { c: c, col: num(b, "col"), rank: num(b, "rank"),
                w: folded ? FOLDED_W : num(b, "w"), h: folded ? FOLDED_H : num(b, "h") };
      slots.push(s);
    });
    slots.sort(function (a, b) { return a.col - b.col || a.rank - b.rank; });
    slots.forEach(function (s) {
      colW[s.col] = Math.max(colW[s.col] || 0, s.w);
      colH[s.col] = (colH[s.col] || 0) + s.h + (colH[s.col] ? GAP_Y : 0);
    });
    var cols = colW.length, tallest = 0, colX = [], nextY = [], i;
    for (i = 0; i < cols; i++) { colW[i] = colW[i] || 0; colH[i] = colH[i] || 0; tallest = Math.max(tallest, colH[i]); }
    for (i = 0; i < cols; i++) { colX[i] = i === 0 ? MARGIN : colX[i - 1] + colW[i - 1] + GAP_X; }
    for (i = 0; i < cols; i++) { nextY[i] = MARGIN + Math.floor((tallest - colH[i]) / 2); }
    g.at = {};
    slots.forEach(function (s) {
      g.at[s.c] = { x: colX[s.col] + Math.floor((colW[s.col] - s.w) / 2), y: nextY[s.col], w: s.w, h: s.h };
      nextY[s.col] += s.h + GAP_Y;
    });
    g.width = Math.max((cols ? colX[cols - 1] + colW[cols - 1] : MARGIN) + MARGIN, 2 * MARGIN);
    g.height = tallest + 2 * MARGIN;
  };

  Graph.prototype.end = function (n, right) {
    var box = this.at[n.cluster];
    if (this.folded(n.cluster)) { return [box.x + (right ? box.w : 0), box.y + Math.floor(box.h / 2)]; }
    return [box.x + num(n, "x") + (right ? NODE_W : 0), box.y + num(n, "y") + Math.floor(NODE_H / 2)];
  };

  function curve(s, t) {
    var bend = Math.max(Math.floor(Math.abs(t[0] - s[0]) / 2), 40);
    return "M" + s[0] + " " + s[1] + "C" + (s[0] + bend) + " " + s[1] + " " + (t[0] - bend) + " " + t[1] + " " + t[0] + " " + t[1];
  }

  Graph.prototype.draw = function () {
    var g = this;
    g.place();
    Object.keys(g.boxes).forEach(function (c) {
      var a = g.at[c], b = g.boxes[c], rect = b.querySelector("rect");
      b.setAttribute("transform", "translate(" + a.x + "," + a.y + ")");
      rect.setAttribute("width", a.w);
      rect.setAttribute("height", a.h);
      g.members[c].setAttribute("transform", "translate(" + a.x + "," + a.y + ")");
      g.members[c].classList.toggle("folded", g.folded(c));
      var title = b.querySelector(".ns-title");
      if (g.svg.classList.contains("foldable") && title.firstChild) {
        title.firstChild.nodeValue = title.firstChild.nodeValue.replace(/^[▸▾] /, g.folded(c) ? "▸ " : "▾ ");
      }
    });
    g.edges.forEach(function (e) {
      var gone = e.a.cluster === e.b.cluster && g.folded(e.a.cluster);
      e.classList.toggle("gone", gone);
      if (!gone) { e.setAttribute("d", curve(g.end(e.a, true), g.end(e.b, false))); }
    });
    g.scale();
  };

  Graph.prototype.scale = function () {
    var w = Math.round(this.width * zoom), h = Math.round(this.height * zoom);
    this.svg.setAttribute("viewBox", "0 0 " + this.width + " " + this.height);
    this.svg.setAttribute("width", w);
    this.svg.setAttribute("height", h);
  };

  Graph.prototype.fold = function (c, folded) {
    this.boxes[c].classList.toggle("folded", folded);
  };

  Graph.prototype.reveal = function (id) {
    var n = this.services[id];
    if (!n) { return null; }
    if (this.folded(n.cluster)) { this.fold(n.cluster, false); this.draw(); }
    return n;
  };

  function clear() {
    graphs.forEach(function (g) {
      g.svg.classList.remove("focus");
      Array.prototype.forEach.call(g.svg.querySelectorAll(".selected, .hl"), function (x) {
        x.classList.remove("selected");
        x.classList.remove("hl");
      });
    });
  }

  function text(i) { return data.t[i]; }

  // A panel is [title, [[label, text or [texts]]...], [[file, linked]...]], texts by index.
  function panel(p) {
    details.textContent = "";
    if (!p) { return; }
    var h = document.createElement("h3");
    h.textContent = typeof p[0] === "number" ? text(p[0]) : p[0];
    details.appendChild(h);
    var dl = document.createElement("dl");
    (p[1] || []).forEach(function (row) {
      var dt = document.createElement("dt"), dd = document.createElement("dd"), label = text(row[0]);
      dt.textContent = label;
      if (Array.isArray(row[1])) {
        var ul = document.createElement("ul");
        row[1].forEach(function (item) {
          var li = document.createElement("li");
          li.textContent = text(item);
          ul.appendChild(li);
        });
        dd.appendChild(ul);
      } else {
        dd.textContent = typeof row[1] === "number" ? text(row[1]) : row[1];
      }
      dt.setAttribute("data-row", label);
      dd.setAttribute("data-row", label);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    details.appendChild(dl);
    if (p[2] && p[2].length) {
      var files = document.createElement("ul");
      files.className = "files";
      p[2].forEach(function (l) {
        var li = document.createElement("li"), el = document.createElement(l[1] ? "a" : "span");
        el.textContent = text(l[0]);
        if (l[1]) { el.setAttribute("href", text(l[0])); }
        li.appendChild(el);
        files.appendChild(li);
      });
      details.appendChild(files);
    }
  }

  function selectNode(g, n) {
    clear();
    g.svg.classList.add("focus");
    n.classList.add("selected");
    g.edges.forEach(function (e) {
      if (e.a === n || e.b === n) { e.classList.add("hl"); e.a.classList.add("hl"); e.b.classList.add("hl"); }
    });
    var id = n.getAttribute("data-service");
    panel(id ? data.s && data.s[id] : null);
    if (!id) {
      var host = n.getAttribute("data-host");
      if (host) { panel([host, [], []]); }
    }
  }

  function selectEdge(g, e) {
    clear();
    g.svg.classList.add("focus");
    e.classList.add("hl");
    e.a.classList.add("hl");
    e.b.classList.add("hl");
    var i = e.getAttribute("data-e"), x = e.getAttribute("data-ext");
    if (i !== null && data.e) { panel(data.e[+i]); } else if (x !== null && data.x) { panel(data.x[+x]); }
  }

  function attach(svg) {
    var g = new Graph(svg);
    graphs.push(g);
    svg.addEventListener("click", function (ev) {
      var t = ev.target;
      var box = t.closest(".box");
      if (box && svg.classList.contains("foldable")) {
        var c = box.getAttribute("data-cluster");
        if (t.closest(".ns-title") || g.folded(c)) {
          g.fold(c, !g.folded(c));
          g.draw();
          return;
        }
      }
      var open = t.closest("[data-open-ns]");
      if (open) { openNamespace(open.getAttribute("data-open-ns")); return; }
      var n = t.closest("g.node");
      if (n) { selectNode(g, n); return; }
      var e = t.closest("path.edge");
      if (e && e.a) { selectEdge(g, e); return; }
      clear();
    });
    svg.addEventListener("keydown", function (ev) {
      var n = ev.target.closest && ev.target.closest("g.node");
      if (n && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); selectNode(g, n); }
    });
    g.scale();
    return g;
  }

  function openNamespace(ns) {
    var view = document.getElementById("ns-view"), tpl = document.getElementById("ns-" + ns);
    if (!view || !tpl) { return null; }
    graphs = graphs.filter(function (g) { return !view.contains(g.svg); });
    view.textContent = "";
    var h = document.createElement("h3");
    h.textContent = "namespace " + ns;
    view.appendChild(h);
    view.appendChild(document.importNode(tpl.content, true));
    var pick = document.getElementById("ns-pick");
    if (pick) { pick.value = ns; }
    return attach(view.querySelector("svg.graph"));
  }

  function find(id) {
    for (var i = 0; i < graphs.length; i++) {
      var n = graphs[i].reveal(id);
      if (n) { return [graphs[i], n]; }
    }
    var ns = id.slice(id.lastIndexOf(".") + 1);
    var g = openNamespace(ns);
    var n2 = g && g.reveal(id);
    return n2 ? [g, n2] : null;
  }

  function reveal(id) {
    var hit = find(id);
    if (!hit) { return; }
    selectNode(hit[0], hit[1]);
    hit[1].scrollIntoView({ block: "center", inline: "center" });
  }

  function revealEdge(from, to) {
    var hit = find(from);
    if (!hit) { return; }
    find(to);
    var g = hit[0];
    g.edges.some(function (e) {
      if (e.getAttribute("data-from") === from && e.getAttribute("data-to") === to) {
        selectEdge(g, e);
        e.a.scrollIntoView({ block: "center", inline: "center" });
        return true;
      }
      return false;
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("#canvas svg.graph"), attach);
  // A picture a little wider than its frame is shrunk to fit, never below legible.
  (function () {
    var canvas = document.getElementById("canvas"), g = graphs[0];
    if (canvas && g && g.width > canvas.clientWidth && canvas.clientWidth > 0) {
      zoom = Math.max(0.75, (canvas.clientWidth - 8) / g.width);
      g.scale();
    }
  })();

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t.closest("svg.graph") || t.closest("a")) { return; }
    var act = t.closest("[data-act]");
    if (act) { return action(act.getAttribute("data-act")); }
    var row = t.closest("tr[data-from][data-to]");
    if (row) { return revealEdge(row.getAttribute("data-from"), row.getAttribute("data-to")); }
    var s = t.closest("[data-service]");
    if (s) { reveal(s.getAttribute("data-service")); }
  });

  function action(what) {
    graphs.forEach(function (g) {
      if (what === "expand" || what === "collapse") {
        if (!g.svg.classList.contains("foldable")) { return; }
        Object.keys(g.boxes).forEach(function (c) { g.fold(c, what === "collapse"); });
        g.draw();
      }
    });
    if (what === "zoom-in") { zoom = Math.min(zoom * 1.25, 4); }
    if (what === "zoom-out") { zoom = Math.max(zoom / 1.25, 0.1); }
    if (what === "fit") {
      var canvas = document.getElementById("canvas"), g0 = graphs[0];
      if (g0 && canvas) { zoom = Math.min(1, (canvas.clientWidth - 8) / g0.width, Math.max(0.1, (canvas.clientHeight - 8) / g0.height)); }
    }
    graphs.forEach(function (g) { g.scale(); });
  }

  var search = document.getElementById("find");
  if (search) {
    search.addEventListener("change", function () {
      var q = search.value.trim();
      if (!q || !data.s) { return; }
      var ids = Object.keys(data.s).sort();
      var id = ids.filter(function (k) { return k === q; })[0] ||
        ids.filter(function (k) { return k.indexOf(q) === 0; })[0] ||
        ids.filter(function (k) { return k.indexOf(q) >= 0; })[0];
      if (id) { reveal(id); }
    });
  }
  var pick = document.getElementById("ns-pick");
  if (pick) { pick.addEventListener("change", function () { if (pick.value) { openNamespace(pick.value); } }); }
  document.addEventListener("keydown", function (ev) {
    var s = ev.target.closest && ev.target.closest(".chip[data-service]");
    if (s && ev.key === "Enter") { reveal(s.getAttribute("data-service")); }
  });

  document.documentElement.setAttribute("data-ready", "1");
  if (window.performance && performance.mark) { performance.mark("meshsmith-ready"); }
})();
