// Layout probe, injected into a report by tests/browser.rs (not part of the page users get).
// After the charts are drawn it opens every "show data" table, measures the page and writes one
// problem per line into a <pre> with the id "layoutcheck", read back from Chromium's --dump-dom:
//   page     the page scrolls sideways
//   nav      the section links do not fit their bar
//   box      a card or KPI tile is wider than its box (content spills out)
//   table    a table is wider than its card (it would scroll inside the card)
//   row      a table row is taller than two lines of text
//   label    a chart text (axis label, axis name, marker, data label) lies outside its chart
//   overlap  two chart texts cover each other (unless they say the same)
// The last line is "checked T tables, R rows, C charts, X texts; sections at Y1 Y2 …" so a
// test can tell that the probe ran over a drawn page.
(function () {
  "use strict";
  function name(el) {
    var card = el.closest(".card, .kpi");
    var sec = el.closest("section");
    var h = card && card.querySelector("h3, .kpi-l");
    return (sec ? "#" + sec.id : "") + " «" + (h ? h.textContent.trim() : "?") + "»";
  }
  function px(v) { return parseFloat(v) || 0; }
  // The corners of a text in chart pixels (a rotated label is a turned rectangle).
  function corners(d) {
    var r = d.getBoundingRect(), m = d.transform || [1, 0, 0, 1, 0, 0];
    return [[r.x, r.y], [r.x + r.width, r.y], [r.x + r.width, r.y + r.height], [r.x, r.y + r.height]]
      .map(function (p) { return [m[0] * p[0] + m[2] * p[1] + m[4], m[1] * p[0] + m[3] * p[1] + m[5]]; });
  }
  // Whether two turned rectangles overlap by more than 2 px (separating axis test).
  function overlap(p, q) {
    var polys = [p, q];
    for (var k = 0; k < 2; k++) {
      for (var e = 0; e < 2; e++) {
        var a = polys[k][e], b = polys[k][e + 1];
        var nx = b[1] - a[1], ny = a[0] - b[0], len = Math.sqrt(nx * nx + ny * ny);
        if (!len) continue;
        nx /= len; ny /= len;
        var proj = function (poly) {
          var v = poly.map(function (c) { return c[0] * nx + c[1] * ny; });
          return [Math.min.apply(null, v), Math.max.apply(null, v)];
        };
        var i = proj(p), j = proj(q);
        if (Math.min(i[1], j[1]) - Math.max(i[0], j[0]) <= 2) return false;
      }
    }
    return true;
  }
  function run() {
    var out = [];
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
    var vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) {
      out.push("page: " + document.documentElement.scrollWidth + "px wide in a " + vw + "px window");
    }
    Array.prototype.forEach.call(document.querySelectorAll(".nav"), function (n) {
      if (n.scrollWidth > n.clientWidth + 1) {
        out.push("nav: links " + n.scrollWidth + "px wide in " + n.clientWidth + "px");
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".card, .kpi"), function (b) {
      if (b.scrollWidth > b.clientWidth + 1) {
        out.push("box " + name(b) + ": content " + b.scrollWidth + "px in " + b.clientWidth + "px");
      }
    });
    var tables = 0, rows = 0;
    Array.prototype.forEach.call(document.querySelectorAll("table"), function (t) {
      // the room a table has: its scrolling box (beside a chart, part of the card) or the card
      var card = t.closest(".card") || t.parentNode;
      var cs = getComputedStyle(card);
      var room = card.clientWidth - px(cs.paddingLeft) - px(cs.paddingRight);
      var box = t.closest(".tw");
      if (box) room = Math.min(room, box.clientWidth);
      var w = t.getBoundingClientRect().width;
      tables++;
      if (w > room + 1) {
        out.push("table " + name(t) + ": " + Math.round(w) + "px in " + Math.round(room) + "px");
      }
      Array.prototype.forEach.call(t.tBodies, function (b) {
        Array.prototype.forEach.call(b.rows, function (r) {
          var td = r.cells[0];
          if (!td) return;
          rows++;
          var s = getComputedStyle(td);
          var lh = px(s.lineHeight) || px(s.fontSize) * 1.55;
          var limit = 2 * lh + px(s.paddingTop) + px(s.paddingBottom) + 4;
          var h = r.getBoundingClientRect().height;
          if (h > limit) {
            out.push("row " + name(t) + " «" + td.textContent.trim() + "»: " + Math.round(h) +
              "px, limit " + Math.round(limit) + "px");
          }
        });
      });
    });
    var charts = 0, texts = 0;
    if (window.echarts) {
      Array.prototype.forEach.call(document.querySelectorAll(".chart"), function (el) {
        var ch = window.echarts.getInstanceByDom(el);
        if (!ch) return;
        charts++;
        var W = el.clientWidth, H = el.clientHeight;
        var boxes = [];
        ch.getZr().storage.getDisplayList(true).forEach(function (d) {
          if (d.type !== "tspan" || d.invisible || !d.style || !d.style.text) return;
          if (d.style.opacity === 0) return;
          var pts = corners(d);
          var xs = pts.map(function (c) { return c[0]; }), ys = pts.map(function (c) { return c[1]; });
          var r = { x: Math.min.apply(null, xs), y: Math.min.apply(null, ys) };
          r.width = Math.max.apply(null, xs) - r.x;
          r.height = Math.max.apply(null, ys) - r.y;
          // a text partly cut by a clip (a scrolling legend) counts as its visible part
          var clips = d.__clipPaths || [];
          for (var i = 0; i < clips.length; i++) {
            var c = clips[i].getBoundingRect().clone();
            clips[i].updateTransform();
            if (clips[i].transform) c.applyTransform(clips[i].transform);
            var x0 = Math.max(r.x, c.x), y0 = Math.max(r.y, c.y);
            var x1 = Math.min(r.x + r.width, c.x + c.width), y1 = Math.min(r.y + r.height, c.y + c.height);
            if (x1 <= x0 || y1 <= y0) return; // clipped away: not shown
            r.x = x0; r.y = y0; r.width = x1 - x0; r.height = y1 - y0;
          }
          if (clips.length) {
            pts = [[r.x, r.y], [r.x + r.width, r.y], [r.x + r.width, r.y + r.height], [r.x, r.y + r.height]];
          }
          texts++;
          var t = String(d.style.text);
          if (r.x < -1 || r.y < -1 || r.x + r.width > W + 1 || r.y + r.height > H + 1) {
            out.push("label " + el.id + " " + name(el) + " «" + t + "»: [" + Math.round(r.x) + "," +
              Math.round(r.y) + " " + Math.round(r.width) + "×" + Math.round(r.height) + "] outside " + W + "×" + H);
          }
          boxes.push({ t: t, p: pts });
        });
        for (var i = 0; i < boxes.length; i++) {
          for (var j = i + 1; j < boxes.length; j++) {
            // the same text twice (a marker's value on its axis label) still reads as one
            if (boxes[i].t !== boxes[j].t && overlap(boxes[i].p, boxes[j].p)) {
              out.push("overlap " + el.id + " " + name(el) + " «" + boxes[i].t + "» × «" + boxes[j].t + "»");
            }
          }
        }
      });
    }
    var tops = Array.prototype.map.call(document.querySelectorAll("section"), function (s) {
      return s.id + "@" + Math.round(s.getBoundingClientRect().top + window.scrollY);
    });
    out.push("checked " + tables + " tables, " + rows + " rows, " + charts + " charts, " + texts +
      " texts; sections at " + tops.join(" "));
    var pre = document.createElement("pre");
    pre.id = "layoutcheck";
    pre.textContent = out.join("\n");
    document.body.appendChild(pre);
  }
  window.addEventListener("load", function () { setTimeout(run, 300); });
})();
