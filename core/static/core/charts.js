// Draws every <figure class="chart" data-chart="<id of a json_script block>"> with Chart.js
// (vendored, core/static/vendor/chartjs/). The server sends the labels already written as
// staff read them (Jalali dates, Persian digits) and the values as raw numbers; ticks and
// tooltips format the numbers in the page's digits. Right-to-left pages get right-to-left
// legends and tooltips. Served from static: the pages' CSP forbids inline script.
(function () {
  "use strict";
  // Okabe–Ito: told apart with the common colour-vision deficiencies; the yellow last.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                 "#000000", "#999999", "#F0E442"];

  function formatter(spec) {
    var locale = (spec.language || "en") + "-u-nu-" + (spec.numbering || "latn");
    var plain = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    if (spec.format === "percent") {
      var percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
      return function (value) { return value === null ? "—" : percent.format(value); };
    }
    if (spec.format === "seconds") {
      // "3 h 20 min": the two largest units that are not zero, as the server's table says
      // them (spec.units: seconds per unit -> the language's "%(count)s h").
      var whole = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
      var units = spec.units || { 86400: "%(count)s d", 3600: "%(count)s h",
                                  60: "%(count)s min", 1: "%(count)s s" };
      var sizes = Object.keys(units).map(Number).sort(function (a, b) { return b - a; });
      return function (value) {
        if (value === null || value === undefined || value < 0) { return "—"; }
        var remaining = Math.round(value);
        var parts = [];
        for (var i = 0; i < sizes.length && parts.length < 2; i++) {
          var count = Math.floor(remaining / sizes[i]);
          remaining -= count * sizes[i];
          if (count || (sizes[i] === 1 && !parts.length)) {
            parts.push(units[sizes[i]].replace("%(count)s", whole.format(count)));
          }
        }
        return parts.join(" ");
      };
    }
    return function (value) { return value === null ? "—" : plain.format(value); };
  }

  function draw(figure) {
    var source = document.getElementById(figure.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var rtl = document.documentElement.getAttribute("dir") === "rtl";
    var format = formatter(spec);
    var round = spec.type === "doughnut" || spec.type === "pie";
    var datasets = spec.datasets.map(function (dataset, index) {
      var colour = PALETTE[index % PALETTE.length];
      var out = Object.assign({}, dataset);
      if (round) {
        out.backgroundColor = dataset.data.map(function (_v, i) { return PALETTE[i % PALETTE.length]; });
      } else {
        out.backgroundColor = spec.type === "line" ? colour + "33" : colour;
        out.borderColor = colour;
        out.borderWidth = 2;
        out.pointRadius = spec.type === "line" ? 2 : undefined;
        out.spanGaps = true;
      }
      return out;
    });
    var valueAxis = spec.horizontal ? "x" : "y";
    var scales = {};
    if (!round) {
      scales.x = { stacked: !!spec.stacked, reverse: rtl && !spec.horizontal,
                   ticks: { autoSkip: true, maxRotation: 0 } };
      scales.y = { stacked: !!spec.stacked, position: rtl ? "right" : "left" };
      scales[valueAxis].beginAtZero = true;
      scales[valueAxis].ticks = Object.assign(scales[valueAxis].ticks || {}, {
        callback: function (value) { return format(value); }
      });
    }
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", figure.getAttribute("data-title") || "");
    var holder = figure.querySelector(".chart-canvas") || figure;
    holder.appendChild(canvas);
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        locale: spec.language,
        scales: scales,
        plugins: {
          legend: { rtl: rtl, textDirection: rtl ? "rtl" : "ltr",
                    display: datasets.length > 1 || round },
          tooltip: {
            rtl: rtl,
            textDirection: rtl ? "rtl" : "ltr",
            callbacks: {
              label: function (item) {
                var value = round ? item.raw : item.parsed[valueAxis];
                var name = round ? item.label : item.dataset.label;
                return (name ? name + ": " : "") + format(value);
              }
            }
          }
        }
      }
    });
    figure.setAttribute("data-drawn", "true");
  }

  function drawAll() {
    var figures = document.querySelectorAll("figure.chart[data-chart]");
    for (var i = 0; i < figures.length; i++) {
      if (figures[i].getAttribute("data-drawn") !== "true") { draw(figures[i]); }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
