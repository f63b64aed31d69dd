// Draws every figure of the JSON data block into its #chart-<name> element, in the light
// or dark template that follows the system setting; a click on a point offers the filter it
// carries (its customdata: GET parameters) and the invoices behind it; the keyboard reaches
// the same filters through the chart's data table.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-figures");
  if (!source || !window.Plotly) { return; }
  var figures = JSON.parse(source.textContent);
  var themes = JSON.parse(document.getElementById("dashboard-themes").textContent);
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  // The toolbar holds what helps on these charts: download as PNG and as CSV, reset the axes
  // after a zoom (no button sends a chart to Plotly's cloud). Only the PNG button is a tab
  // stop: the card's own CSV link is the keyboard's, and the keyboard does not zoom.
  var narrow = window.matchMedia("(max-width: 600px)").matches;
  var csvButton = {
    name: "downloadCsv",
    title: "Download the data as CSV",
    icon: window.Plotly.Icons.disk,
    click: function (plot) { window.location.href = plot.closest(".card").querySelector("a.csv").href; }
  };
  var config = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    modeBarButtons: [["toImage", csvButton, "resetScale2d"]]
  };
  var TABBED_BUTTON = "Download plot as a PNG";

  function toolbarTabStops(plot) {
    plot.querySelectorAll(".modebar-btn").forEach(function (button) {
      if (button.dataset.title !== TABBED_BUTTON) { button.setAttribute("tabindex", "-1"); }
    });
  }

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

  // The keyboard's way through a chart: the arrow keys (Home, End) move from bar to bar,
  // showing its hover and reading its row of the data table aloud; Enter or Space follows
  // that row's link (the filter a click applies); Escape hides the hover.
  function keyboard(plot, name) {
    var rows = document.querySelectorAll("#table-" + name + " tbody tr");
    var live = document.getElementById("live-" + name);
    var headers = Array.prototype.map.call(
      document.querySelectorAll("#table-" + name + " thead th"), function (th) { return th.textContent; }
    );
    var current = -1;
    function show(index) {
      current = Math.max(0, Math.min(rows.length - 1, index));
      var points = plot.data.map(function (trace, curve) { return { curveNumber: curve, pointNumber: current }; })
        .filter(function (point) { return (plot.data[point.curveNumber].x || []).length > current; });
      window.Plotly.Fx.hover(plot, points);
      var cells = rows[current].querySelectorAll("th, td");
      var text = Array.prototype.map.call(cells, function (cell, i) {
        return (i ? headers[i] + " " : "") + cell.textContent;
      }).join(", ");
      var link = rows[current].querySelector("a");
      live.textContent = (current + 1) + " of " + rows.length + ": " + text + (link ? ". Enter filters by it." : ".");
    }
    plot.addEventListener("keydown", function (event) {
      if (event.target !== plot || !rows.length) { return; }
      var keys = {
        ArrowRight: current + 1, ArrowDown: current + 1, ArrowLeft: current - 1, ArrowUp: current - 1,
        Home: 0, End: rows.length - 1
      };
      if (event.key in keys) {
        event.preventDefault();
        show(current < 0 && event.key.indexOf("Arrow") === 0 ? 0 : keys[event.key]);
      } else if ((event.key === "Enter" || event.key === " ") && current >= 0) {
        var link = rows[current].querySelector("a");
        if (link) { event.preventDefault(); window.location.href = link.href; }
      } else if (event.key === "Escape") {
        window.Plotly.Fx.unhover(plot);
        current = -1;
        live.textContent = "";
      }
    });
    plot.addEventListener("blur", function () { window.Plotly.Fx.unhover(plot); });
  }

  performance.mark("dashboard-charts-start");
  var drawn = Object.keys(figures).map(function (name) {
    var target = document.getElementById("chart-" + name);
    if (!target) { return null; }
    var figure = figures[name];
    figure.layout.template = theme();
    // On a narrow screen the toolbar (44 px buttons) sits above the plot, not over its bars.
    if (narrow) { figure.layout.margin.t = Math.max(figure.layout.margin.t || 0, 52); }
    // The PNG is named like the chart's CSV (its title, filters and dates: dashboard/files.py).
    var options = Object.assign({}, config, { toImageButtonOptions: { filename: target.dataset.file } });
    return window.Plotly.newPlot(target, figure.data, figure.layout, options).then(function (plot) {
      plot.on("plotly_click", function (event) { drill(target, event); });
      plot.on("plotly_afterplot", function () { toolbarTabStops(plot); });
      toolbarTabStops(plot);
      keyboard(plot, name);
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
  // Enter in any filter applies the filters (a select or a checkbox does not submit by itself).
  if (form) {
    form.addEventListener("keydown", function (event) {
      var field = event.target;
      if (event.key !== "Enter" || !/^(INPUT|SELECT)$/.test(field.tagName)) { return; }
      event.preventDefault();
      form.requestSubmit();
    });
  }
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
