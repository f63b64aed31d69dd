// Draws every figure of the JSON data block into its #chart-<name> element.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-figures");
  if (!source || !window.Plotly) { return; }
  var figures = JSON.parse(source.textContent);
  Object.keys(figures).forEach(function (name) {
    var target = document.getElementById("chart-" + name);
    if (!target) { return; }
    var figure = figures[name];
    window.Plotly.newPlot(target, figure.data, figure.layout, {
      responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"]
    });
  });
})();
