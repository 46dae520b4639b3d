(function () {
  "use strict";
  var FONT = '"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif';
  var data = JSON.parse(document.getElementById("data").textContent);
  var charts = [];

  // JSON cannot hold functions: turn "{value}%"-style valueFormatter strings into functions.
  function fixFormatters(o) {
    if (Array.isArray(o)) { o.forEach(fixFormatters); return; }
    if (!o || typeof o !== "object") return;
    Object.keys(o).forEach(function (k) {
      var v = o[k];
      if (k === "valueFormatter" && typeof v === "string") {
        o[k] = function (x) { return x == null || x === "-" ? "–" : v.replace("{value}", x); };
      } else { fixFormatters(v); }
    });
  }

  // Axis labels and names stay inside the chart: ECharts 6 `outerBounds` instead of the older
  // `containLabel`, which lets axis names spill out of the chart and over the labels.
  function fitGrids(o) {
    var grids = Array.isArray(o.grid) ? o.grid : o.grid ? [o.grid] : [];
    grids.forEach(function (g) {
      if (g.containLabel) {
        delete g.containLabel;
        g.outerBoundsMode = "same";
        g.outerBoundsContain = "all";
      }
    });
  }

  // A category axis turned 30° to make room: upright again when its labels fit side by side
  // in the chart as drawn (the width is only known here).
  var measure = document.createElement("canvas").getContext("2d");
  function uprightLabels(o, el) {
    var axes = Array.isArray(o.xAxis) ? o.xAxis : o.xAxis ? [o.xAxis] : [];
    axes.forEach(function (ax) {
      var lab = ax.axisLabel;
      if (ax.type !== "category" || !Array.isArray(ax.data) || !lab || !lab.rotate) return;
      measure.font = (lab.fontSize || 12) + "px " + FONT;
      var widest = 0;
      ax.data.forEach(function (d) {
        widest = Math.max(widest, measure.measureText(String(d && d.value != null ? d.value : d)).width);
      });
      // the plot is the chart less its axis labels and margins, about 100 px
      var room = (el.clientWidth - 100) / ax.data.length;
      if (widest + 10 <= room) {
        lab.rotate = 0;
        if (lab.width) lab.width = Math.floor(room - 4);
      }
    });
  }

  function showFallback(el) {
    el.style.display = "none";
    var d = el.parentNode.querySelector("details.fallback");
    if (d) d.open = true;
  }

  if (window.echarts) {
    data.sections.forEach(function (s) {
      s.cards.forEach(function (c) {
        if (!c.chart) return;
        var el = document.getElementById(c.chart.id);
        if (!el) return;
        try {
          var o = c.chart.option;
          fixFormatters(o);
          fitGrids(o);
          uprightLabels(o, el);
          o.textStyle = Object.assign({ fontFamily: FONT }, o.textStyle || {});
          var ch = window.echarts.init(el, null, { renderer: "canvas" });
          ch.setOption(o);
          charts.push(ch);
        } catch (e) {
          showFallback(el);
          if (window.console) console.warn("chart " + c.chart.id + ": " + e);
        }
      });
    });
    var t;
    window.addEventListener("resize", function () {
      clearTimeout(t);
      t = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 100);
    });
  }

  // Sortable tables: numeric cells sort by data-v, text cells by locale. A table whose rows
  // have a line under them (one <tbody> per row) sorts its bodies by their first rows.
  var coll = new Intl.Collator(data.lang === "zh" ? "zh-Hans-CN" : "en", { numeric: true });
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var ths = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(ths, function (th, i) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("asc");
        Array.prototype.forEach.call(ths, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var grouped = table.tBodies.length > 1;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(grouped ? table.tBodies : body.rows);
        var first = function (r) { return grouped ? r.rows[0] : r; };
        rows.sort(function (a, b) {
          var x = first(a).cells[i], y = first(b).cells[i];
          if (!x || !y) return 0;
          var r;
          if (x.hasAttribute("data-v") || y.hasAttribute("data-v")) {
            var p = parseFloat(x.getAttribute("data-v")), q = parseFloat(y.getAttribute("data-v"));
            if (isNaN(p)) p = -Infinity;
            if (isNaN(q)) q = -Infinity;
            r = p - q;
          } else {
            r = coll.compare(x.textContent, y.textContent);
          }
          return asc ? r : -r;
        });
        rows.forEach(function (row) { (grouped ? table : body).appendChild(row); });
      });
    });
  });

  // Highlight the section in view.
  var links = document.querySelectorAll(".nav a");
  if ("IntersectionObserver" in window && links.length) {
    var io = new IntersectionObserver(function (es) {
      es.forEach(function (e) {
        if (!e.isIntersecting) return;
        Array.prototype.forEach.call(links, function (a) {
          a.classList.toggle("on", a.getAttribute("href") === "#" + e.target.id);
        });
      });
    }, { rootMargin: "-30% 0px -60% 0px" });
    Array.prototype.forEach.call(document.querySelectorAll("section.section"), function (s) { io.observe(s); });
  }

  // Printing: open the data tables and fit the charts to the page.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = [];
    Array.prototype.forEach.call(document.querySelectorAll("details.fallback"), function (d) {
      if (!d.open) { d.open = true; opened.push(d); }
    });
    charts.forEach(function (c) { c.resize(); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    charts.forEach(function (c) { c.resize(); });
  });
})();
