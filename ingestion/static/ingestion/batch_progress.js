// Live progress in the batch page's outcome box: polls the batch's JSON endpoint (the batch as
// batch_present shows it) and writes its percent into the bar and its progress_text into the
// line, as the server's first render did; reloads once when the batch ends, for the counts.
(function () {
  "use strict";
  var box = document.querySelector(".ingestion-progress");
  if (!box || box.dataset.finished === "true") { return; }
  var bar = box.querySelector(".ingestion-progress-bar");
  var text = box.parentNode.querySelector(".ingestion-progress-text");
  function show(p) {
    box.dataset.status = p.status;
    bar.style.width = (p.percent || 0) + "%";  // no total yet: an empty bar, as first rendered
    text.textContent = p.progress_text;  // written by the server, like the page's first render
  }
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        show(p);
        if (p.finished) { setTimeout(function () { window.location.reload(); }, 800); }
        else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
