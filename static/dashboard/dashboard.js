/* Tracking Data dashboard: the phone menu and the charts (uPlot, vendored in static/vendor/).
   Data comes from <script type="application/json"> blocks (json_script): no inline script, so the
   pages run under a strict Content-Security-Policy. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function setupNav() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.getElementById("guild-nav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function readData(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var fmt = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
  var full = new Intl.NumberFormat();
  function compact(n) { return n == null ? "—" : fmt.format(n); }
  function exact(n) { return n == null ? "—" : full.format(n); }

  function chartWidth(el) { return Math.max(260, el.clientWidth); }
  function chartHeight(el) { return el.clientWidth < 500 ? 220 : 280; }

  var axisStyle = {
    stroke: "#667085",
    grid: { stroke: "#eef0f4", width: 1 },
    ticks: { stroke: "#e3e8ef", width: 1 },
    font: "12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
  };

  var dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });

  function barsChart(el, data) {
    var xs = data.days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    var readout = document.querySelector('[data-readout-for="' + el.getAttribute("data-source") + '"]');
    var idle = readout ? readout.textContent : "";
    function showDay(u) {
      if (!readout) return;
      var i = u.cursor.idx;
      var partial = data.partial_last && i === xs.length - 1 ? " so far today (the day is not over)" : "";
      readout.textContent = i == null ? idle : dayFmt.format(new Date(xs[i] * 1000)) + " · " + exact(data.views[i]) + " views gained" + partial;
    }
    // The last bar is today so far: drawn hatched and labelled, so nobody reads it as a bad day.
    function markPartial(u) {
      if (!data.partial_last || !xs.length) return;
      var last = xs.length - 1, ctx = u.ctx, dpr = window.devicePixelRatio || 1;
      var left = u.valToPos(xs[last], "x", true), right = u.valToPos(xs[last] + 86400 * 0.72, "x", true);
      var top = u.valToPos(data.views[last] || 0, "y", true), bottom = u.valToPos(0, "y", true);
      ctx.save();
      ctx.fillStyle = "rgba(255, 255, 255, 0.55)";
      ctx.fillRect(left, top, right - left, bottom - top);
      ctx.setLineDash([4 * dpr, 3 * dpr]);
      ctx.strokeStyle = "#4f46e5";
      ctx.lineWidth = dpr;
      ctx.strokeRect(left, top, right - left, bottom - top);
      ctx.restore();
    }
    var opts = {
      width: chartWidth(el),
      height: chartHeight(el),
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      // one day of room after the last day: its bar (drawn from the day's start) is never cut off
      scales: { x: { time: true, range: function (u, min, max) { return [min, max + 86400]; } },
                y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.1)]; } } },
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      hooks: { setCursor: [showDay], draw: [markPartial] },
      series: [
        { value: "{MMM} {D}" },
        {
          label: "Views gained",
          fill: "rgba(79, 70, 229, 0.85)",
          stroke: "#4f46e5",
          width: 0,
          paths: uPlot.paths.bars({ size: [0.72, 40], align: 0 }),
          points: { show: false },
          value: function (u, v) { return exact(v); },
        },
      ],
      axes: [
        Object.assign({}, axisStyle, { values: "{MMM} {D}", space: 60 }),
        Object.assign({}, axisStyle, { size: 56, values: function (u, vals) { return vals.map(compact); } }),
      ],
    };
    return new uPlot(opts, [xs, data.views], el);
  }

  // One measure per chart (views, or likes), each on its own axis: two scales on one plot overlap.
  var SERIES = {
    views: { label: "Views", stroke: "#4f46e5", width: 2, fill: "rgba(79, 70, 229, 0.08)" },
    likes: { label: "Likes", stroke: "#db2777", width: 1.5, fill: "rgba(219, 39, 119, 0.06)" },
  };

  function seriesChart(el, data) {
    var key = el.getAttribute("data-series") || "views";
    var style = SERIES[key];
    var opts = {
      width: chartWidth(el),
      height: key === "views" ? chartHeight(el) : Math.round(chartHeight(el) * 0.6),
      scales: { x: { time: true } },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: "Measured", value: "{MMM} {D}, {HH}:{mm}" },
        Object.assign({}, style, { spanGaps: true, value: function (u, v) { return exact(v); } }),
      ],
      axes: [
        Object.assign({}, axisStyle, { space: 70 }),
        Object.assign({}, axisStyle, { size: 56, values: function (u, vals) { return vals.map(compact); } }),
      ],
    };
    return new uPlot(opts, [data.t, data[key]], el);
  }

  // A campaign's money used at the end of each day (cumulative), with its budget as a dashed line.
  var money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function moneyChart(el, data) {
    var xs = data.days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    var used = data.used.map(Number);
    var readout = document.querySelector('[data-readout-for="' + el.getAttribute("data-source") + '"]');
    var idle = readout ? readout.textContent : "";
    function showDay(u) {
      if (!readout) return;
      var i = u.cursor.idx;
      readout.textContent = i == null ? idle : dayFmt.format(new Date(xs[i] * 1000)) + " · " + data.used[i] + " " + data.currency + " used";
    }
    var series = [
      { value: "{MMM} {D}" },
      { label: "Used", stroke: "#4f46e5", width: 2, fill: "rgba(79, 70, 229, 0.08)", value: function (u, v) { return v == null ? "—" : money.format(v); } },
    ];
    var values = [xs, used];
    if (data.budget !== null) {
      series.push({ label: "Budget", stroke: "#db2777", width: 1.5, dash: [6, 4], points: { show: false } });
      values.push(xs.map(function () { return Number(data.budget); }));
    }
    var opts = {
      width: chartWidth(el),
      height: chartHeight(el),
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      hooks: { setCursor: [showDay] },
      series: series,
      axes: [
        Object.assign({}, axisStyle, { values: "{MMM} {D}", space: 60 }),
        Object.assign({}, axisStyle, { size: 64, values: function (u, vals) { return vals.map(compact); } }),
      ],
    };
    return new uPlot(opts, values, el);
  }

  var charts = [];
  function setupCharts() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var data = readData(el.getAttribute("data-source"));
      if (!data) return;
      var kind = el.getAttribute("data-chart");
      var make = kind === "bars" ? barsChart : kind === "money" ? moneyChart : seriesChart;
      charts.push({ el: el, plot: make(el, data) });
      el.setAttribute("data-rendered", "true");
    });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        charts.forEach(function (c) { c.plot.setSize({ width: chartWidth(c.el), height: chartHeight(c.el) }); });
      }, 120);
    });
  }

  // Forms that destroy something ask first: <form data-confirm="Delete ...?">.
  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function start() { setupNav(); setupCharts(); setupConfirm(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
