// gridscheme map page: clicking a scheme's column in the comparison table shows its layer
// and frames it. Reads its configuration from the JSON element #gs-map-config.
(function () {
  "use strict";
  function start() {
    var el = document.getElementById("gs-map-config");
    if (!el) { return; }
    var cfg = JSON.parse(el.textContent);
    var map = window[cfg.map];
    if (!map) { return; }
    L.control.scale({imperial: false, metric: true}).addTo(map);
    var heads = document.querySelectorAll(".gs-table th.gs-col");
    Array.prototype.forEach.call(heads, function (th, i) {
      var layer = window[cfg.layers[i]];
      if (!layer) { return; }
      th.title = th.textContent;
      th.addEventListener("click", function () {
        if (!map.hasLayer(layer)) { map.addLayer(layer); }
        var b = layer.getBounds();
        if (b.isValid()) { map.fitBounds(b, {padding: [30, 30]}); }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
