// Draws every figure of the JSON data block into its #chart-<name> element, in the light
// or dark template that follows the system setting; a click on a point offers the filter it
// carries (its customdata: GET parameters) and the invoices behind it.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-figures");
  if (!source || !window.Plotly) { return; }
  var figures = JSON.parse(source.textContent);
  var themes = JSON.parse(document.getElementById("dashboard-themes").textContent);
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  // The toolbar keeps what helps on these charts (download PNG, zoom, pan, reset axes); no
  // button offers to send a chart to Plotly's cloud (plotly.js 4 shows "Share" by default).
  var config = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    modeBarButtonsToRemove: [
      "sendChartToCloud", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d",
      "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian", "hoverClosestPie"
    ]
  };

  function theme() { return themes[dark.matches ? "dark" : "light"]; }

  // A click on a bar or point opens a small menu at the pointer: its drill (the chart's
  // data-drill: "Show its days", "Filter by it"; none for a day) and its invoices. Both are
  // links over the page's GET parameters with the point's own (its customdata) in place; the
  // series' grain is left out, so a drilled range gets its automatic grain.
  var menu = document.getElementById("point-menu");

  function linked(customdata) {
    var params = new URLSearchParams(window.location.search);
    var applied = new URLSearchParams(customdata);
    applied.forEach(function (value, key) { params.delete(key); });
    applied.forEach(function (value, key) { params.append(key, value); });
    params.delete("grain");
    return params;
  }

  function described(customdata) {
    var applied = new URLSearchParams(customdata);
    var start = applied.get("start"), end = applied.get("end");
    if (start) { return start === end ? start : start + " to " + end; }
    return Array.from(applied.values()).join(", ");
  }

  function drill(target, event) {
    var point = event.points && event.points[0];
    if (!point || !point.customdata || !menu) { return; }
    var params = linked(point.customdata);
    var drillText = target.dataset.drill || "";
    var drillLink = menu.querySelector("a.drill");
    drillLink.hidden = !drillText;
    drillLink.textContent = drillText;
    drillLink.href = "?" + params.toString();
    menu.querySelector("a.invoices").href = menu.dataset.invoices + "?" + params.toString();
    menu.querySelector(".what").textContent = described(point.customdata);
    var at = event.event || {};
    menu.style.left = Math.min((at.pageX || 0) + 8, document.documentElement.scrollWidth - 220) + "px";
    menu.style.top = ((at.pageY || 0) + 8) + "px";
    menu.hidden = false;
    (drillText ? drillLink : menu.querySelector("a.invoices")).focus({ preventScroll: true });
  }

  if (menu) {
    document.body.appendChild(menu);  // positioned against the page
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") { menu.hidden = true; } });
    document.addEventListener("click", function (e) {
      if (!menu.contains(e.target) && !e.target.closest(".chart")) { menu.hidden = true; }
    });
  }

  performance.mark("dashboard-charts-start");
  var drawn = Object.keys(figures).map(function (name) {
    var target = document.getElementById("chart-" + name);
    if (!target) { return null; }
    var figure = figures[name];
    figure.layout.template = theme();
    return window.Plotly.newPlot(target, figure.data, figure.layout, config).then(function (plot) {
      plot.on("plotly_click", function (event) { drill(target, event); });
      return plot;
    });
  });
  Promise.all(drawn).then(function () {
    // Read by the browser test: time from navigation start to every chart drawn.
    performance.mark("dashboard-charts-drawn");
    document.documentElement.dataset.chartsDrawn = String(Math.round(performance.now()));
  });

  dark.addEventListener("change", function () {
    document.querySelectorAll(".js-plotly-plot").forEach(function (plot) {
      window.Plotly.relayout(plot, { template: theme() });
    });
  });

  // "Auto" is the default grain: leave it out of the URL.
  var form = document.getElementById("filters");
  var grain = form && form.querySelector("select[name=grain]");
  if (grain) {
    form.addEventListener("submit", function () { if (!grain.value) { grain.disabled = true; } });
  }

  // Ticking exactly the default statuses is the default: leave them out of the URL.
  var statuses = form && form.querySelector(".statuses");
  if (statuses) {
    form.addEventListener("submit", function () {
      var boxes = statuses.querySelectorAll("input[name=status]");
      var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; })
        .map(function (b) { return b.value; }).sort().join(" ");
      var defaults = statuses.dataset.default.split(" ").sort().join(" ");
      if (ticked === defaults) { boxes.forEach(function (b) { b.disabled = true; }); }
    });
  }
})();
