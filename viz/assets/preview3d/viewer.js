// gridscheme 3D preview viewer. Plain script on top of the vendored three.js bundle
// (window.GS3, see scripts/viz_assets/three-entry.js). Reads the scene from the JSON
// element #gs3d-data; every text goes through textContent.
// Axes: three x = metres east, three z = metres south (-north), y = up.
(function () {
  "use strict";
  var T = window.GS3;
  var data = JSON.parse(document.getElementById("gs3d-data").textContent);
  var host = document.getElementById("gs3d");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function webglOk() {
    try {
      var c = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (c.getContext("webgl2") || c.getContext("webgl")));
    } catch (e) { return false; }
  }
  if (!T || !webglOk()) {
    host.appendChild(el("p", "gs3d-nowebgl", data.ui.webgl_missing));
    return;
  }

  var renderer = new T.WebGLRenderer({antialias: true, preserveDrawingBuffer: true});
  renderer.setPixelRatio(window.devicePixelRatio || 1);
  host.appendChild(renderer.domElement);
  var labels = new T.CSS2DRenderer();
  labels.domElement.className = "gs3d-labels";
  host.appendChild(labels.domElement);

  var scene = new T.Scene();
  scene.background = new T.Color(0xdfe9f3);
  scene.add(new T.HemisphereLight(0xffffff, 0x9a9a8a, 2.2));
  var sun = new T.DirectionalLight(0xffffff, 1.6);
  sun.position.set(-0.6, 1.0, 0.4);
  scene.add(sun);

  var E = Math.max(data.extent, 50);
  var camera = new T.PerspectiveCamera(45, 1, 0.5, E * 40);
  var controls = new T.OrbitControls(camera, labels.domElement);
  controls.maxPolarAngle = Math.PI * 0.495;
  controls.screenSpacePanning = false;

  // Ground, grid, roads.
  var ground = new T.Mesh(new T.PlaneGeometry(E * 6, E * 6),
    new T.MeshLambertMaterial({color: 0xeceadf}));
  ground.rotation.x = -Math.PI / 2;
  scene.add(ground);
  var step = Math.pow(10, Math.round(Math.log10(E / 5)));
  if (!(data.roads && data.roads.length)) {  // a metric grid only when no roads give scale
    var grid = new T.GridHelper(E * 6, Math.round(E * 6 / step), 0xc9c6b8, 0xd8d5c8);
    grid.position.y = 0.02;
    scene.add(grid);
  }

  function polyline(pts, y, material) {
    var arr = [];
    pts.forEach(function (p) { arr.push(p[0], y, -p[1]); });
    var g = new T.BufferGeometry();
    g.setAttribute("position", new T.Float32BufferAttribute(arr, 3));
    var line = new T.Line(g, material);
    if (material.isLineDashedMaterial) { line.computeLineDistances(); }
    return line;
  }
  var roadMat = new T.LineBasicMaterial({color: 0x7d7d7d});
  (data.roads || []).forEach(function (r) { scene.add(polyline(r, 0.05, roadMat)); });

  function label(text, cls, x, y, z, parent) {
    var d = el("div", "gs3d-label " + (cls || ""), text);
    var o = new T.CSS2DObject(d);
    o.position.set(x, y, z);
    parent.add(o);
    return o;
  }

  function box(spec, x, y, colour, parent) {
    var m = new T.Mesh(new T.BoxGeometry(spec.w, spec.h, spec.d),
      new T.MeshLambertMaterial({color: new T.Color(colour || spec.colour)}));
    m.position.set(x, spec.h / 2, -y);
    parent.add(m);
    var edges = new T.LineSegments(new T.EdgesGeometry(m.geometry),
      new T.LineBasicMaterial({color: 0x333333}));
    edges.position.copy(m.position);
    parent.add(edges);
    return m;
  }

  // The customer: parcel and its substation (always shown).
  var customer = new T.Group();
  scene.add(customer);
  if (data.customer.parcel && data.customer.parcel.length > 2) {
    var shape = new T.Shape();
    data.customer.parcel.forEach(function (p, i) {
      if (i === 0) { shape.moveTo(p[0], p[1]); } else { shape.lineTo(p[0], p[1]); }
    });
    var pm = new T.Mesh(new T.ShapeGeometry(shape), new T.MeshLambertMaterial(
      {color: 0xf4d35e, transparent: true, opacity: 0.55, side: T.DoubleSide}));
    pm.rotation.x = -Math.PI / 2;
    pm.position.y = 0.08;
    customer.add(pm);
    customer.add(polyline(data.customer.parcel, 0.12, new T.LineBasicMaterial({color: 0x222222})));
  }
  var sub = data.customer.substation;
  box(sub, 0, 0, null, customer);
  label(sub.label, "gs3d-customer", 0, sub.h + 4, 0, customer);

  // One group per scheme.
  var groups = [];
  data.schemes.forEach(function (s) {
    var g = new T.Group();
    var colour = new T.Color(s.colour);
    s.circuits.forEach(function (c) {
      var path = c.path;
      if (c.construction === "overhead" && c.poles) {
        var h = c.pole_height, r = c.pole_radius;
        var poleMat = new T.MeshLambertMaterial({color: 0x8d8d8d});
        var armMat = new T.MeshLambertMaterial({color: 0x4a4a4a});
        var poleGeo = new T.CylinderGeometry(r * 0.8, r * 1.1, h, 8);
        c.poles.forEach(function (p) {
          var pole = new T.Mesh(poleGeo, poleMat);
          pole.position.set(p[0], h / 2, -p[1]);
          g.add(pole);
          var arm = new T.Mesh(new T.BoxGeometry(2.0, 0.15, 0.15), armMat);
          arm.position.set(p[0], h - 0.4, -p[1]);
          g.add(arm);
        });
        // Three phase conductors with a sag between poles.
        var wireMat = c.fallback
          ? new T.LineDashedMaterial({color: colour, dashSize: 6, gapSize: 6})
          : new T.LineBasicMaterial({color: colour});
        [-0.9, 0, 0.9].forEach(function (off) {
          var pts = [];
          for (var i = 0; i < c.poles.length - 1; i++) {
            var a = c.poles[i], b = c.poles[i + 1];
            var span = Math.hypot(b[0] - a[0], b[1] - a[1]);
            var dx = (b[1] - a[1]) / (span || 1), dy = -(b[0] - a[0]) / (span || 1);
            for (var k = 0; k <= 6; k++) {
              var f = k / 6;
              var sag = 4 * data.sag * span * f * (1 - f);
              pts.push([a[0] + (b[0] - a[0]) * f + dx * off, a[1] + (b[1] - a[1]) * f + dy * off,
                        h - 0.3 - sag]);
            }
          }
          var arr = [];
          pts.forEach(function (p) { arr.push(p[0], p[2], -p[1]); });
          var geo = new T.BufferGeometry();
          geo.setAttribute("position", new T.Float32BufferAttribute(arr, 3));
          var line = new T.Line(geo, wireMat);
          if (wireMat.isLineDashedMaterial) { line.computeLineDistances(); }
          g.add(line);
        });
      } else {
        // Cable: a trench strip along the route and a coloured line on it.
        var w = data.trench_width;
        var trenchMat = new T.MeshLambertMaterial({color: colour, transparent: true, opacity: 0.85});
        for (var i = 0; i < path.length - 1; i++) {
          var a = path[i], b = path[i + 1];
          var len = Math.hypot(b[0] - a[0], b[1] - a[1]);
          if (len < 0.01) { continue; }
          var seg = new T.Mesh(new T.BoxGeometry(len + w, 0.4, w), trenchMat);
          seg.position.set((a[0] + b[0]) / 2, 0.2, -(a[1] + b[1]) / 2);
          seg.rotation.y = Math.atan2(b[1] - a[1], b[0] - a[0]);
          g.add(seg);
        }
        var mat = c.fallback
          ? new T.LineDashedMaterial({color: 0x222222, dashSize: 8, gapSize: 8})
          : new T.LineBasicMaterial({color: 0x222222});
        g.add(polyline(path, 0.45, mat));
      }
      var at = c.label_at || path[Math.floor(path.length / 2)];
      label(c.label, "gs3d-route", at[0], (c.pole_height || 3) + 6, -at[1], g);
    });
    (s.connections || []).forEach(function (cn) {
      box(cn, cn.x, cn.y, null, g);
      label(cn.label, "gs3d-conn", cn.x, cn.h + 8, -cn.y, g);
    });
    g.visible = false;
    scene.add(g);
    groups.push(g);
  });

  // Panel: title, one button per scheme, the selected scheme's figures, legend.
  var panel = el("div", "gs3d-panel");
  panel.appendChild(el("h1", null, data.title));
  var buttons = el("div", "gs3d-buttons");
  buttons.setAttribute("aria-label", data.ui.switch_scheme);
  panel.appendChild(buttons);
  var summary = el("ul", "gs3d-summary");
  panel.appendChild(summary);
  var reset = el("button", "gs3d-reset", data.ui.reset_view);
  panel.appendChild(reset);
  var legend = el("div", "gs3d-legend");
  [[data.ui.cable, "gs3d-key-cable"], [data.ui.overhead, "gs3d-key-overhead"],
   [data.ui.customer_substation, "gs3d-key-customer"]].forEach(function (k) {
    var row = el("div");
    row.appendChild(el("span", "gs3d-key " + k[1]));
    row.appendChild(document.createTextNode(k[0]));
    legend.appendChild(row);
  });
  panel.appendChild(legend);
  host.appendChild(panel);
  if (!data.schemes.length) { summary.appendChild(el("li", null, data.ui.no_scheme)); }

  var current = 0;
  data.schemes.forEach(function (s, i) {
    var b = el("button", "gs3d-btn", s.title);
    b.style.borderLeftColor = s.colour;
    b.addEventListener("click", function () { show(i); });
    buttons.appendChild(b);
  });

  function render() { renderer.render(scene, camera); labels.render(scene, camera); }

  function frame() {
    var bb = new T.Box3().setFromObject(customer);
    if (groups[current]) { bb.union(new T.Box3().setFromObject(groups[current])); }
    var size = new T.Vector3(), centre = new T.Vector3();
    bb.getSize(size); bb.getCenter(centre);
    var radius = Math.max(size.x, size.z, 40) * 0.5;
    var dist = radius / Math.tan((camera.fov * Math.PI / 180) / 2) * 1.05;
    controls.target.copy(centre);
    camera.position.set(centre.x + dist * 0.35, dist * 0.62, centre.z + dist * 0.75);
    camera.near = Math.max(0.5, dist / 500);
    camera.far = dist * 20;
    camera.updateProjectionMatrix();
    controls.update();
    render();
  }

  function show(i) {
    current = i;
    groups.forEach(function (g, k) { g.visible = k === i; });
    Array.prototype.forEach.call(buttons.children, function (b, k) {
      b.classList.toggle("gs3d-active", k === i);
    });
    summary.textContent = "";
    if (data.schemes[i]) {
      data.schemes[i].summary.forEach(function (line) { summary.appendChild(el("li", null, line)); });
    }
    frame();
  }

  function resize() {
    var w = host.clientWidth, h = host.clientHeight;
    renderer.setSize(w, h);
    labels.setSize(w, h);
    camera.aspect = w / Math.max(h, 1);
    camera.updateProjectionMatrix();
    render();
  }

  controls.addEventListener("change", render);
  reset.addEventListener("click", frame);
  window.addEventListener("resize", resize);
  resize();
  show(0);
  window.__gs3d = {scene: scene, camera: camera, controls: controls, render: render,
                   show: show, frame: frame, groups: groups};
})();
