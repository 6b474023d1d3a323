// gridscheme web page: plain script on the vendored Leaflet, no build step, no other origin.
//
// Security rules this file keeps:
// - every text from the API or the user reaches the DOM through textContent / createTextNode,
//   attribute values through setAttribute; no innerHTML, no string handed to Leaflet as HTML
//   (popups, tooltips and icons get DOM nodes);
// - the API token lives in sessionStorage (this tab only) and travels only in the
//   Authorization header, never in a URL;
// - the 3D preview runs in a sandboxed iframe without allow-same-origin (opaque origin).
(function () {
  "use strict";

  var TOKEN_KEY = "gs-token";
  var LANG_KEY = "gs-lang";
  var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
  var CFG = null;
  var LANG = (function () {
    try { return window.localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh"; } catch (e) { return "zh"; }
  })();
  var ME = null;
  var S = {
    view: null,         // "signin" | "new" | "list" | "result" | "missing"
    appId: null,        // application shown
    summary: null,      // its ApplicationOut (without using the result)
    pv: null,           // its page view (export "view")
    point: null,        // [lon, lat] clicked for a new application
    parcel: null,       // {rings, crs, name} uploaded for a new application
    lastBody: null,     // the last submitted body (JSON) and its Idempotency-Key
    lastKey: null,
    loadSeq: 0
  };

  // ---------------------------------------------------------------- small DOM helpers
  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) { return; }
        if (k === "text") { e.textContent = String(v); }
        else if (k === "on") { Object.keys(v).forEach(function (ev) { e.addEventListener(ev, v[ev]); }); }
        else { e.setAttribute(k, v === true ? "" : String(v)); }
      });
    }
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  // Lines of text separated by <br>, each a text node.
  function lines(parent, arr) {
    (arr || []).forEach(function (line, i) {
      if (i) { parent.appendChild(el("br")); }
      parent.appendChild(document.createTextNode(String(line)));
    });
    return parent;
  }

  function show(node, on) { node.hidden = !on; }

  function t(key) {
    var tx = CFG && CFG.text[LANG];
    return (tx && tx[key]) || key;
  }

  function fmt(key) {  // t() with {0}, {1} ... filled in (as text)
    var s = t(key), args = Array.prototype.slice.call(arguments, 1);
    return s.replace(/\{(\d+)\}/g, function (m, i) { return args[+i] === undefined ? m : String(args[+i]); });
  }

  function money(v) {
    if (v === null || v === undefined || !isFinite(v)) { return "–"; }
    if (LANG === "zh") { return (v / 1e4).toLocaleString("zh-CN", {minimumFractionDigits: 1, maximumFractionDigits: 1}) + " 万元"; }
    return Math.abs(v) >= 1e6 ? "CNY " + (v / 1e6).toFixed(2) + " M" : "CNY " + Math.round(v / 1e3) + " k";
  }

  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso || ""); }
    return d.toLocaleString(LANG === "zh" ? "zh-CN" : "en-GB", {year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit"});
  }

  function randomKey() {  // crypto.randomUUID needs a secure context; getRandomValues does not
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return "web-" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // ---------------------------------------------------------------- API
  function token() {
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function ApiFailure(status, body) {
    var err = (body && body.error) || {};
    this.status = status;
    this.code = err.code || "error";
    this.field = err.field || null;
    this.message = err.message || (status ? "HTTP " + status : t("err_network"));
  }

  function api(path, opts) {
    opts = opts || {};
    var headers = {"Accept": opts.accept || "application/json"};
    var tok = opts.token || token();
    if (tok) { headers.Authorization = "Bearer " + tok; }
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; }
    Object.keys(opts.headers || {}).forEach(function (k) { headers[k] = opts.headers[k]; });
    return window.fetch(path, {
      method: opts.method || "GET", headers: headers, credentials: "omit", cache: "no-store",
      body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined
    }).then(function (r) {
      if (r.ok) {
        if (opts.as === "blob") { return r.blob().then(function (b) { return {blob: b, response: r}; }); }
        if (opts.as === "text") { return r.text(); }
        return r.json();
      }
      return r.json().catch(function () { return null; }).then(function (body) {
        var f = new ApiFailure(r.status, body);
        if (r.status === 401 && !opts.token) { signOut(t("session_ended")); }
        throw f;
      });
    }, function () { throw new ApiFailure(0, null); });
  }

  // ---------------------------------------------------------------- language
  function applyI18n() {
    document.documentElement.setAttribute("lang", LANG === "zh" ? "zh-CN" : "en");
    document.title = t("app_title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (n) {
      n.textContent = t(n.getAttribute("data-i18n"));
    });
    $("gs-lang").textContent = t("switch_lang");
    $("gs-lang").setAttribute("lang", LANG === "zh" ? "en" : "zh-CN");
    fillChoices();
    renderWhere();
    renderWho();
    renderMapControl();
  }

  function fillChoices() {
    [["f-tier", CFG.tiers, "普通"], ["f-industry", CFG.industries, "others"]].forEach(function (x) {
      var sel = $(x[0]), keep = sel.value || x[2];
      clear(sel);
      x[1].forEach(function (o) {
        sel.appendChild(el("option", {value: o.value, text: LANG === "zh" ? o.zh : o.en}));
      });
      sel.value = keep;
    });
  }

  function switchLang() {
    LANG = LANG === "zh" ? "en" : "zh";
    try { window.localStorage.setItem(LANG_KEY, LANG); } catch (e) { /* private mode */ }
    applyI18n();
    route();
  }

  // ---------------------------------------------------------------- map
  var map = null, roadsLayer = null, roadsTruncated = false, roadsSeq = 0;
  var schemeLayers = {}, customerLayer = null, placeLayer = null;
  var gridLayers = {}, gridShown = {feeders: true, capacity: false}, roadsShown = true;
  var mapControl = null, mapControlBox = null;

  function initMap() {
    map = L.map("gs-map", {zoomControl: true, attributionControl: false, maxZoom: 19,
                           minZoom: 3, preferCanvas: false});
    map.setView([35, 105], 5);
    L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
    map.on("click", onMapClick);
    map.on("moveend", function () { if (roadsTruncated) { loadRoads(true); } });
    var Box = L.Control.extend({
      onAdd: function () {
        mapControlBox = el("div", {"class": "gs-layers leaflet-bar", id: "gs-layers"});
        L.DomEvent.disableClickPropagation(mapControlBox);
        L.DomEvent.disableScrollPropagation(mapControlBox);
        return mapControlBox;
      }
    });
    mapControl = new Box({position: "topright"});
    mapControl.addTo(map);
    window.__gsweb = {map: map, schemeLayers: schemeLayers};  // for tests and screenshots
  }

  function loadRoads(inView) {
    var seq = ++roadsSeq, q = "";
    if (inView) {
      var b = map.getBounds();
      q = "?bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
        return Math.max(-180, Math.min(180, v)).toFixed(5); }).join(",");
    }
    return api("/v1/roads" + q).then(function (fc) {
      if (seq !== roadsSeq) { return; }
      roadsTruncated = !!fc.truncated;
      var fresh = L.geoJSON(fc, {
        interactive: false,
        style: function (f) {
          var major = /arterial|primary|trunk|主干/.test(String((f.properties || {}).road_class || ""));
          return {color: major ? "#9a9a9a" : "#b9b9b9", weight: major ? 4 : 2.5, opacity: 0.9,
                  className: "gs-road"};
        }
      });
      if (roadsLayer) { map.removeLayer(roadsLayer); }
      roadsLayer = fresh;
      if (roadsShown) { roadsLayer.addTo(map); roadsLayer.bringToBack(); }
      if (!inView && fc.bbox && !S.appId) {
        map.fitBounds([[fc.bbox[1], fc.bbox[0]], [fc.bbox[3], fc.bbox[2]]], {padding: [10, 10]});
      }
    }).catch(function () { /* the map still works without streets */ });
  }

  function classColour(layer, v) {
    var cls = CFG.classes[layer] || [];
    if (v === null || v === undefined || !isFinite(v)) { return "#999999"; }
    for (var i = 0; i < cls.length; i++) {
      var lo = cls[i].lower === null ? -Infinity : cls[i].lower;
      var hi = cls[i].upper === null ? Infinity : cls[i].upper;
      if (v >= lo && v < hi) { return cls[i].colour; }
    }
    return "#999999";
  }

  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %"; }

  function loadGridLayers() {
    // Staff only: the API refuses customers (403) and the page never asks for them.
    if (!ME || ME.role === "customer") { return; }
    api("/v1/capacity").then(function (fc) {
      function tip(p) {
        return lines(el("div"), [
          (p.name && p.name !== p.feeder_id ? p.name + " · " : "") + p.feeder_id,
          t("load_rate") + ": " + pct(p.load_rate),
          t("headroom") + ": " + (p.headroom_mva === null ? "–" : p.headroom_mva.toFixed(2) + " MVA")
        ]);
      }
      gridLayers.capacity = L.geoJSON(fc, {
        style: function (f) {
          return {color: classColour("capacity_headroom_mva", f.properties.headroom_mva),
                  weight: 14, opacity: 0.45, lineCap: "round", className: "gs-capacity"};
        },
        onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties), {sticky: true}); }
      });
      gridLayers.feeders = L.geoJSON(fc, {
        style: function (f) {
          return {color: classColour("feeder_load_rate", f.properties.load_rate), weight: 3,
                  opacity: 0.95, className: "gs-feeder"};
        },
        onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties), {sticky: true}); }
      });
      syncGridLayers();
      renderMapControl();
    }).catch(function () { /* no capacity layer for this token */ });
  }

  function syncGridLayers() {
    ["capacity", "feeders"].forEach(function (k) {
      var l = gridLayers[k];
      if (!l) { return; }
      if (gridShown[k] && !map.hasLayer(l)) { l.addTo(map); }
      if (!gridShown[k] && map.hasLayer(l)) { map.removeLayer(l); }
    });
    if (roadsLayer) { roadsLayer.bringToBack(); }
    Object.keys(schemeLayers).forEach(function (r) {
      if (map.hasLayer(schemeLayers[r])) { schemeLayers[r].eachLayer(function (x) { if (x.bringToFront) { x.bringToFront(); } }); }
    });
  }

  function legendRow(layer) {
    var row = el("div", {"class": "gs-classes"});
    (CFG.classes[layer] || []).forEach(function (c) {
      row.appendChild(el("span", {"class": "gs-class"}, [
        el("span", {"class": "gs-swatch", style: "background:" + c.colour}),
        LANG === "zh" ? c.zh : c.en]));
    });
    return row;
  }

  function renderMapControl() {
    if (!mapControlBox) { return; }
    clear(mapControlBox);
    mapControlBox.appendChild(el("div", {"class": "gs-layers-title", text: t("layers")}));
    function toggle(id, label, on, fn) {
      var box = el("input", {type: "checkbox", id: id, checked: on});
      box.addEventListener("change", function () { fn(box.checked); });
      return el("label", {"class": "gs-layer-toggle", "for": id}, [box, " ", label]);
    }
    mapControlBox.appendChild(toggle("gs-layer-roads", t("roads"), roadsShown, function (on) {
      roadsShown = on;
      if (roadsLayer) { if (on) { roadsLayer.addTo(map); roadsLayer.bringToBack(); } else { map.removeLayer(roadsLayer); } }
    }));
    if (ME && ME.role !== "customer" && gridLayers.feeders) {
      mapControlBox.appendChild(toggle("gs-layer-feeders", t("feeders_layer"), gridShown.feeders, function (on) {
        gridShown.feeders = on; syncGridLayers();
      }));
      mapControlBox.appendChild(legendRow("feeder_load_rate"));
      mapControlBox.appendChild(toggle("gs-layer-capacity", t("capacity_layer"), gridShown.capacity, function (on) {
        gridShown.capacity = on; syncGridLayers();
      }));
      mapControlBox.appendChild(legendRow("capacity_headroom_mva"));
    }
  }

  function clearSchemes() {
    Object.keys(schemeLayers).forEach(function (r) { map.removeLayer(schemeLayers[r]); delete schemeLayers[r]; });
    if (customerLayer) { map.removeLayer(customerLayer); customerLayer = null; }
  }

  function latlngs(coords) { return coords.map(function (c) { return [c[1], c[0]]; }); }

  function routeLines(geom) {
    if (!geom) { return []; }
    if (geom.type === "LineString") { return [geom.coordinates]; }
    if (geom.type === "MultiLineString") { return geom.coordinates; }
    return [];
  }

  var GLYPH = {zh: {busbar: "站", rmu: "环", switching_station: "开", tap: "T", existing: "原", station: "配"},
               en: {busbar: "S", rmu: "R", switching_station: "K", tap: "T", existing: "E", station: "D"}};

  function popupTable(c, colour) {
    var tbody = el("tbody");
    c.rows.forEach(function (r) { tbody.appendChild(el("tr", null, [el("th", {text: r[0]}), el("td", {text: r[1]})])); });
    return el("div", {"class": "gs-pop"}, [
      el("h4", {text: c.title, style: "border-color:" + colour}), el("table", null, [tbody])]);
  }

  function drawResult(pv) {
    clearSchemes();
    var all = [];
    pv.schemes.forEach(function (s, i) {
      var g = L.featureGroup();
      s.circuits.forEach(function (c) {
        var dash = c.fallback ? "2 6" : (c.construction === "overhead" ? "10 7" : null);
        routeLines(c.route).forEach(function (coords) {
          var ll = latlngs(coords);
          all = all.concat(ll);
          L.polyline(ll, {color: "#ffffff", weight: 10 - Math.min(i, 2), opacity: 0.85,
                          interactive: false, className: "gs-casing"}).addTo(g);
          L.polyline(ll, {color: s.colour, weight: 6 - Math.min(i, 2), opacity: 0.92, dashArray: dash,
                          className: "gs-route gs-rank-" + s.rank + " gs-" + c.construction})
            .bindPopup(popupTable(c, s.colour), {maxWidth: 380})
            .bindTooltip(el("span", {text: c.tooltip}), {sticky: true})
            .addTo(g);
        });
        if (c.point) {
          var pin = el("div", {"class": "gs-pin", style: "background:" + s.colour,
                               text: (GLYPH[LANG][c.point_kind] || "+")});
          L.marker([c.point[1], c.point[0]], {icon: L.divIcon({html: pin, className: "gs-pin-wrap",
                                                               iconSize: [22, 22], iconAnchor: [11, 11]})})
            .bindTooltip(lines(el("div"), c.point_lines), {direction: "top"})
            .addTo(g);
          all.push([c.point[1], c.point[0]]);
        }
      });
      schemeLayers[s.rank] = g;
      g.addTo(map);
    });
    customerLayer = L.featureGroup();
    var cu = pv.customer;
    if (cu.parcel) {
      L.polygon(cu.parcel.map(latlngs), {color: "#222", weight: 2, fillColor: "#f4d35e",
                                         fillOpacity: 0.35, className: "gs-parcel"})
        .bindTooltip(lines(el("div"), [t("parcel"), cu.name])).addTo(customerLayer);
      cu.parcel.forEach(function (r) { all = all.concat(latlngs(r)); });
    }
    if (cu.point) {
      L.circleMarker([cu.point[1], cu.point[0]], {radius: 8, color: "#000", weight: 2, fillColor: "#fff",
                                                  fillOpacity: 1, className: "gs-customer-point"})
        .bindTooltip(lines(el("div"), [cu.name, t("point_used")].concat(
          cu.facts.map(function (f) { return f[0] + ": " + f[1]; }))), {direction: "top"})
        .addTo(customerLayer);
      all.push([cu.point[1], cu.point[0]]);
    }
    customerLayer.addTo(map);
    if (all.length > 1) { map.fitBounds(all, {padding: [40, 40], maxZoom: 17}); }
    else if (all.length === 1) { map.setView(all[0], 16); }
  }

  // ---------------------------------------------------------------- placing a new application
  function onMapClick(e) {
    if (S.view !== "new") { return; }
    S.point = [Math.round(e.latlng.lng * 1e6) / 1e6, Math.round(e.latlng.lat * 1e6) / 1e6];
    S.parcel = null;
    $("f-parcel").value = "";
    drawPlace();
    renderWhere();
  }

  function drawPlace() {
    if (placeLayer) { map.removeLayer(placeLayer); placeLayer = null; }
    if (S.view !== "new") { return; }
    placeLayer = L.featureGroup();
    if (S.point) {
      L.circleMarker([S.point[1], S.point[0]], {radius: 9, color: "#000", weight: 2, fillColor: "#f4d35e",
                                                fillOpacity: 1, className: "gs-place"}).addTo(placeLayer);
    }
    if (S.parcel) {
      L.polygon(S.parcel.rings.map(latlngs), {color: "#222", weight: 2, fillColor: "#f4d35e",
                                              fillOpacity: 0.35, className: "gs-parcel"}).addTo(placeLayer);
    }
    placeLayer.addTo(map);
    if (S.parcel) { map.fitBounds(placeLayer.getBounds(), {padding: [60, 60], maxZoom: 17}); }
  }

  function renderWhere() {
    var p = $("f-where");
    if (!p || !CFG) { return; }
    p.removeAttribute("data-i18n");
    if (S.parcel) {
      p.textContent = fmt("f_location_parcel", S.parcel.name, S.parcel.rings[0].length - 1);
    } else if (S.point) {
      p.textContent = fmt("f_location_point", S.point[0].toFixed(6), S.point[1].toFixed(6));
    } else {
      p.textContent = t("f_location_none");
    }
    p.classList.toggle("gs-set", !!(S.parcel || S.point));
  }

  // A parcel from a GeoJSON file: a Polygon, a MultiPolygon's first polygon, or the first
  // polygon feature of a Feature/FeatureCollection; [lon, lat] in EPSG:4326 or EPSG:4490.
  function parcelFrom(obj) {
    var crs = "EPSG:4326";
    var named = obj && obj.crs && obj.crs.properties && String(obj.crs.properties.name || "");
    if (named) {
      if (/4490/.test(named)) { crs = "EPSG:4490"; }
      else if (!/(4326|CRS84)$/.test(named)) { throw new Error(fmt("parcel_crs", named)); }
    }
    function geomOf(o) {
      if (!o || typeof o !== "object") { return null; }
      if (o.type === "FeatureCollection") {
        var fs = o.features || [];
        for (var i = 0; i < fs.length; i++) { var g = geomOf(fs[i]); if (g) { return g; } }
        return null;
      }
      if (o.type === "Feature") { return geomOf(o.geometry); }
      if (o.type === "Polygon") { return o.coordinates; }
      if (o.type === "MultiPolygon") { return (o.coordinates || [])[0]; }
      return null;
    }
    var poly = geomOf(obj);
    if (!Array.isArray(poly) || !poly.length) { throw new Error(t("parcel_none")); }
    var rings = poly.map(function (ring) {
      if (!Array.isArray(ring)) { throw new Error(t("parcel_none")); }
      var r = ring.map(function (p) {
        var x = Number(p && p[0]), y = Number(p && p[1]);
        if (!isFinite(x) || !isFinite(y)) { throw new Error(t("parcel_none")); }
        if (Math.abs(x) > 180 || Math.abs(y) > 90) { throw new Error(t("parcel_projected")); }
        return [x, y];
      });
      var a = r[0], b = r[r.length - 1];
      if (r.length && (a[0] !== b[0] || a[1] !== b[1])) { r.push([a[0], a[1]]); }
      return r;
    });
    if (rings[0].length < 4) { throw new Error(t("parcel_none")); }
    return {rings: rings, crs: crs};
  }

  function onParcelFile() {
    var f = $("f-parcel").files[0];
    hideError("f-error");
    if (!f) { return; }
    if (f.size > 2000000) { showError("f-error", t("parcel_too_big")); return; }
    var rd = new FileReader();
    rd.onload = function () {
      try {
        var p = parcelFrom(JSON.parse(String(rd.result)));
        p.name = f.name;
        S.parcel = p;
        S.point = null;
        drawPlace();
        renderWhere();
      } catch (err) {
        showError("f-error", t("parcel_bad") + " " + (err && err.message ? err.message : ""));
      }
    };
    rd.onerror = function () { showError("f-error", t("parcel_bad")); };
    rd.readAsText(f);
  }

  function showError(id, msg) { var n = $(id); n.textContent = msg; show(n, true); }
  function hideError(id) { var n = $(id); n.textContent = ""; show(n, false); }

  function markField(field) {
    Array.prototype.forEach.call(document.querySelectorAll("#gs-app-form [data-field]"), function (n) {
      var f = n.getAttribute("data-field");
      var hit = field && (field === f || field.indexOf(f + ".") === 0 ||
                          (f === "lon" && /^(lon|lat|parcel|crs)/.test(field)));
      n.classList.toggle("gs-invalid", !!hit);
    });
  }

  function formBody() {
    var name = $("f-name").value.trim();
    var kva = Number($("f-kva").value);
    if (!name) { throw {field: "customer_name", message: t("need_name")}; }
    if (!(kva > 0) || !isFinite(kva)) { throw {field: "requested_kva", message: t("need_kva")}; }
    if (!S.point && !S.parcel) { throw {field: "lon", message: t("need_location")}; }
    var body = {customer_name: name, requested_kva: kva, tier: $("f-tier").value,
                industry: $("f-industry").value};
    if (S.parcel) { body.parcel = S.parcel.rings; body.crs = S.parcel.crs; }
    else { body.lon = S.point[0]; body.lat = S.point[1]; }
    return body;
  }

  function onSubmit(ev) {
    ev.preventDefault();
    hideError("f-error");
    markField(null);
    var body;
    try { body = formBody(); } catch (e) { markField(e.field); showError("f-error", e.message); return; }
    var text = JSON.stringify(body);
    // The same body again (a retry, a double click) reuses its key: stored once.
    if (text !== S.lastBody) { S.lastBody = text; S.lastKey = randomKey(); }
    var btn = $("f-submit"), st = $("f-status");
    btn.disabled = true;
    st.textContent = t("planning");
    show(st, true);
    api("/v1/applications", {method: "POST", json: body, headers: {"Idempotency-Key": S.lastKey}})
      .then(function (doc) {
        S.lastBody = S.lastKey = null;
        S.point = S.parcel = null;
        $("gs-app-form").reset();
        fillChoices();
        renderWhere();
        window.location.hash = "#/a/" + doc.id;
      })
      .catch(function (f) {
        markField(f.field);
        showError("f-error", t("submit_failed") + " " + f.message);
      })
      .then(function () { btn.disabled = false; show(st, false); });
  }

  // ---------------------------------------------------------------- views
  var VIEWS = ["signin", "new", "list", "result", "missing"];

  function setView(v) {
    S.view = v;
    VIEWS.forEach(function (k) { show($("view-" + k), k === v); });
    $("gs-side").className = "gs-side gs-side-" + v;
    ["new", "list"].forEach(function (k) { $("gs-nav-" + k).classList.toggle("gs-here", k === v); });
    if (v !== "result" && v !== "missing") { clearSchemes(); S.appId = null; }
    drawPlace();
    if (map) { setTimeout(function () { map.invalidateSize(); }, 0); }
  }

  function renderWho() {
    var who = $("gs-who");
    if (!ME) { show(who, false); return; }
    who.textContent = t("role_" + ME.role) + (ME.role === "customer" ? " · " + ME.principal : "");
    show(who, true);
  }

  function renderList() {
    setView("list");
    var ul = $("gs-list");
    clear(ul);
    hideError("gs-list-error");
    $("gs-list-note").textContent = t("loading");
    api("/v1/applications?limit=100").then(function (res) {
      if (S.view !== "list") { return; }
      $("gs-list-note").textContent = res.total ? fmt("list_count", res.items.length, res.total) : t("list_empty");
      res.items.forEach(function (a) {
        var meta = [when(a.created_at), fmt("n_schemes", a.n_schemes),
                    a.best_cost_cny === null ? t("none_feasible") : t("best") + " " + money(a.best_cost_cny)];
        if (ME.role !== "customer") { meta.push(t("owner") + " " + a.owner); }
        ul.appendChild(el("li", {"class": "gs-list-item"}, [
          el("a", {href: "#/a/" + encodeURIComponent(a.id), "data-id": a.id}, [
            el("span", {"class": "gs-list-name", text: a.customer_name}),
            el("span", {"class": "gs-list-meta", text: meta.join(" · ")})])]));
      });
    }).catch(function (f) { $("gs-list-note").textContent = ""; showError("gs-list-error", f.message); });
  }

  function renderNew() {
    setView("new");
    renderWhere();
    setTimeout(function () { $("f-name").focus(); }, 0);
  }

  function loadResult(id) {
    var seq = ++S.loadSeq;
    setView("result");
    S.appId = id;
    var box = $("gs-result");
    clear(box);
    box.appendChild(el("p", {"class": "gs-status", text: t("loading")}));
    var base = "/v1/applications/" + encodeURIComponent(id);
    Promise.all([api(base), api(base + "/exports/view?lang=" + LANG)]).then(function (res) {
      if (seq !== S.loadSeq) { return; }
      S.summary = res[0];
      S.pv = res[1];
      renderResult();
      drawResult(S.pv);
    }).catch(function (f) {
      if (seq !== S.loadSeq) { return; }
      if (f.status === 404 || f.status === 422) { setView("missing"); return; }
      clear(box);
      box.appendChild(el("p", {"class": "gs-error", role: "alert", text: f.message}));
    });
  }

  function button(cls, text, rank, fn, title) {
    return el("button", {type: "button", "class": "gs-btn " + cls, "data-rank": rank, title: title || null,
                         text: text, on: {click: fn}});
  }

  function renderResult() {
    var pv = S.pv, a = S.summary, box = $("gs-result");
    clear(box);
    var dl = el("dl", {"class": "gs-facts"});
    pv.customer.facts.forEach(function (f) { dl.appendChild(el("dt", {text: f[0]})); dl.appendChild(el("dd", {text: f[1]})); });
    dl.appendChild(el("dt", {text: t("application_id")}));
    dl.appendChild(el("dd", {text: a.id}));
    dl.appendChild(el("dt", {text: t("submitted")}));
    dl.appendChild(el("dd", {text: when(a.created_at)}));
    if (ME.role !== "customer") {
      dl.appendChild(el("dt", {text: t("owner")}));
      dl.appendChild(el("dd", {text: a.owner}));
    }
    box.appendChild(el("header", {"class": "gs-result-head"}, [
      el("h2", {"class": "gs-customer", text: pv.customer.name}), dl]));

    if (!pv.schemes.length) {
      box.appendChild(el("p", {"class": "gs-empty", text: pv.empty || t("no_scheme")}));
      return;
    }
    var tools = el("div", {"class": "gs-tools"}, [
      button("gs-3d-all", t("preview3d_all"), "", function () { open3d(null); })]);
    box.appendChild(tools);

    // The comparison: one column per scheme; the header's box shows or hides it on the map.
    var head = el("tr", null, [el("th", {"class": "gs-corner", text: t("comparison")})]);
    pv.schemes.forEach(function (s) {
      var id = "gs-toggle-" + s.rank, th = null;
      var cb = el("input", {type: "checkbox", id: id, "class": "gs-toggle", "data-rank": s.rank, checked: true,
                            title: t("toggle_scheme")});
      cb.addEventListener("change", function () {
        var g = schemeLayers[s.rank];
        if (!g) { return; }
        if (cb.checked) { g.addTo(map); } else { map.removeLayer(g); }
        th.classList.toggle("gs-off", !cb.checked);
      });
      var title = el("button", {type: "button", "class": "gs-col-title", title: t("zoom_scheme"),
                                on: {click: function () { zoomScheme(s.rank); }}}, [
        el("span", {"class": "gs-swatch", style: "background:" + s.colour}), s.title]);
      th = el("th", {"class": "gs-col" + (s.feasible ? "" : " gs-infeasible"), scope: "col", "data-rank": s.rank}, [
        el("div", {"class": "gs-col-head"}, [cb, el("label", {"for": id, "class": "gs-sr", text: t("toggle_scheme") + " " + s.title}), title]),
        el("div", {"class": "gs-col-cost", text: s.cost}),
        s.feasible ? null : el("div", {"class": "gs-col-bad", text: t("not_feasible")})]);
      head.appendChild(th);
    });
    var tbody = el("tbody");
    pv.comparison.rows.forEach(function (r) {
      var tr = el("tr", null, [el("th", {scope: "row", text: r.label})]);
      r.cells.forEach(function (cell) { tr.appendChild(lines(el("td"), cell)); });
      tbody.appendChild(tr);
    });
    var actions = el("tr", {"class": "gs-actions"}, [el("th", {scope: "row", text: t("actions")})]);
    pv.schemes.forEach(function (s) {
      actions.appendChild(el("td", null, [
        button("gs-3d", t("preview3d"), s.rank, function () { open3d(s.rank); }),
        button("gs-letter-pdf", t("letter_pdf"), s.rank, function (ev) { download(s.rank, "pdf", ev.currentTarget); }),
        button("gs-letter-docx", t("letter_docx"), s.rank, function (ev) { download(s.rank, "docx", ev.currentTarget); })]));
    });
    tbody.appendChild(actions);
    box.appendChild(el("div", {"class": "gs-table-wrap"}, [
      el("table", {"class": "gs-compare"}, [el("thead", null, [head]), tbody])]));
    box.appendChild(el("p", {"class": "gs-error", id: "gs-result-error", role: "alert", hidden: true}));

    var ol = el("ol", {"class": "gs-expl"});
    pv.schemes.forEach(function (s) {
      ol.appendChild(el("li", null, [el("b", {text: s.title + ": "}), s.explanation]));
    });
    box.appendChild(el("section", null, [el("h3", {text: t("explanation")}), ol]));
    if (pv.rejected && pv.rejected.length) {
      var ul = el("ul", {"class": "gs-rejected"});
      pv.rejected.forEach(function (x) { ul.appendChild(el("li", {text: x})); });
      box.appendChild(el("section", null, [el("h3", {text: t("rejected")}), ul]));
    }
    box.appendChild(el("section", {"class": "gs-legend"}, [el("h3", {text: t("legend")}), legend(pv)]));
    box.appendChild(el("p", {"class": "gs-foot", text: t("network_version") + " " + (pv.network_version || "") +
                             " · " + t("policy") + " " + (pv.policy_id || "")}));
  }

  function legend(pv) {
    var ul = el("ul");
    pv.schemes.forEach(function (s) {
      ul.appendChild(el("li", null, [el("span", {"class": "gs-line", style: "border-color:" + s.colour}), s.title]));
    });
    ul.appendChild(el("li", null, [el("span", {"class": "gs-line"}), t("cable")]));
    ul.appendChild(el("li", null, [el("span", {"class": "gs-line gs-dashed"}), t("overhead")]));
    ul.appendChild(el("li", null, [el("span", {"class": "gs-line gs-dotted"}), t("fallback_route")]));
    ul.appendChild(el("li", null, [el("span", {"class": "gs-dot"}), t("point_used")]));
    ul.appendChild(el("li", null, [el("span", {"class": "gs-pin gs-pin-small", text: "+"}), t("connection_point")]));
    return ul;
  }

  function zoomScheme(rank) {
    var g = schemeLayers[rank];
    if (!g) { return; }
    if (!map.hasLayer(g)) {
      g.addTo(map);
      var cb = document.querySelector("input.gs-toggle[data-rank='" + rank + "']");
      if (cb) { cb.checked = true; cb.dispatchEvent(new Event("change")); }
    }
    var b = g.getBounds();
    if (b.isValid()) { map.fitBounds(b, {padding: [40, 40], maxZoom: 17}); }
  }

  function resultError(msg) {
    var n = $("gs-result-error");
    if (n) { n.textContent = msg; show(n, true); }
  }

  function download(rank, kind, btn) {
    var id = S.appId;
    btn.disabled = true;
    api("/v1/applications/" + encodeURIComponent(id) + "/exports/letter_" + kind + "?scheme=" + rank +
        "&lang=" + LANG, {as: "blob", accept: "*/*"})
      .then(function (res) {
        var url = URL.createObjectURL(res.blob);
        var a = el("a", {href: url, download: id + "-scheme" + rank + "-" + LANG + "." + kind, hidden: true});
        document.body.appendChild(a);
        a.click();
        document.body.removeChild(a);
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      })
      .catch(function (f) { resultError(t("download_failed") + " " + f.message); })
      .then(function () { btn.disabled = false; });
  }

  function open3d(rank) {
    var id = S.appId, modal = $("gs-modal"), frame = $("gs-3d"), st = $("gs-modal-status");
    var name = S.pv ? S.pv.customer.name : "";
    $("gs-modal-title").textContent = t("preview3d_title") + " · " + name +
      (rank ? " · " + t("scheme") + " " + rank : "");
    frame.removeAttribute("srcdoc");
    frame.setAttribute("title", t("preview3d_title"));
    st.textContent = t("loading");
    show(st, true);
    show(modal, true);
    $("gs-modal-close").focus();
    api("/v1/applications/" + encodeURIComponent(id) + "/exports/preview3d?lang=" + LANG +
        (rank ? "&scheme=" + rank : ""), {as: "text", accept: "text/html"})
      .then(function (html) { show(st, false); frame.srcdoc = html; })
      .catch(function (f) { st.textContent = t("preview3d_failed") + " " + f.message; });
  }

  function close3d() {
    show($("gs-modal"), false);
    $("gs-3d").removeAttribute("srcdoc");
  }

  // ---------------------------------------------------------------- sign in / out, routing
  function signIn(ev) {
    ev.preventDefault();
    var tok = $("gs-token").value.trim();
    hideError("gs-signin-error");
    if (!tok) { showError("gs-signin-error", t("need_token")); return; }
    var btn = $("gs-signin-btn");
    btn.disabled = true;
    api("/v1/me", {token: tok}).then(function (me) {
      try { window.sessionStorage.setItem(TOKEN_KEY, tok); } catch (e) { /* kept in memory only */ }
      $("gs-token").value = "";
      start(me);
    }).catch(function (f) {
      showError("gs-signin-error", f.status === 401 ? t("token_refused") : f.message);
    }).then(function () { btn.disabled = false; });
  }

  function start(me) {
    ME = me;
    show($("gs-nav"), true);
    show($("gs-signout"), true);
    renderWho();
    loadRoads(false);
    loadGridLayers();
    renderMapControl();
    if (!window.location.hash || window.location.hash === "#" || window.location.hash === "#/") {
      window.location.hash = "#/new";
    } else {
      route();
    }
  }

  function signOut(msg) {
    try { window.sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
    ME = null;
    S.pv = S.summary = null;
    Object.keys(gridLayers).forEach(function (k) { map.removeLayer(gridLayers[k]); delete gridLayers[k]; });
    close3d();
    show($("gs-nav"), false);
    show($("gs-signout"), false);
    renderWho();
    renderMapControl();
    setView("signin");
    if (msg) { showError("gs-signin-error", msg); }
  }

  function route() {
    if (!ME) { setView("signin"); return; }
    var h = window.location.hash || "";
    var m = /^#\/a\/(.+)$/.exec(h);
    if (m) {
      var id = decodeURIComponent(m[1]);
      if (!ID_RE.test(id)) { setView("missing"); return; }
      loadResult(id);
    } else if (h === "#/list") {
      renderList();
    } else {
      renderNew();
    }
  }

  function boot() {
    initMap();
    $("gs-lang").addEventListener("click", switchLang);
    $("gs-signout").addEventListener("click", function () { signOut(null); window.location.hash = ""; });
    $("gs-signin-form").addEventListener("submit", signIn);
    $("gs-app-form").addEventListener("submit", onSubmit);
    $("f-parcel").addEventListener("change", onParcelFile);
    $("f-clear").addEventListener("click", function () {
      S.point = S.parcel = null; $("f-parcel").value = ""; drawPlace(); renderWhere();
    });
    $("gs-modal-close").addEventListener("click", close3d);
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !$("gs-modal").hidden) { close3d(); } });
    window.addEventListener("hashchange", route);
    applyI18n();
    var tok = token();
    if (!tok) { setView("signin"); return; }
    api("/v1/me").then(start).catch(function () { if (!ME) { setView("signin"); } });
  }

  window.fetch("/app/config.json", {credentials: "omit"}).then(function (r) { return r.json(); })
    .then(function (cfg) { CFG = cfg; boot(); })
    .catch(function () {
      var p = el("p", {"class": "gs-error", text: "配置加载失败 / could not load the page's configuration"});
      $("gs-side").appendChild(p);
    });
})();
