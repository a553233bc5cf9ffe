// The readable patient record: reveal identifiers on demand, lab trends and vital signs as ECharts charts,
// CT/MR series in a DICOM viewer (Cornerstone + dicomParser, shipped under static/records/vendor).
// Parts added later (a record presented in a consultation room) are set up as they appear.
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // --- identifiers: masked until asked for (the hub records the reveal) -------------------------------
  function setupReveal(root) {
    root.querySelectorAll("button.rec-reveal:not([data-ready])").forEach(function (button) {
      button.dataset.ready = "1";
      var box = button.closest(".rec");
      var masked = {};
      box.querySelectorAll(".rec-masked").forEach(function (el) { masked[el.dataset.key] = el.textContent; });
      button.addEventListener("click", function () {
        if (button.getAttribute("aria-pressed") === "true") {
          box.querySelectorAll(".rec-masked").forEach(function (el) { el.textContent = masked[el.dataset.key]; });
          button.setAttribute("aria-pressed", "false");
          button.textContent = button.dataset.showLabel;
          return;
        }
        fetch(box.dataset.revealUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (body) {
            if (!body) return;
            body.identifiers.forEach(function (row) {
              var el = box.querySelector('.rec-masked[data-key="' + row.key + '"]');
              if (el) el.textContent = row.value;
            });
            button.setAttribute("aria-pressed", "true");
            button.textContent = button.dataset.hideLabel;
          });
      });
    });
  }

  // --- charts --------------------------------------------------------------------------------------
  var charts = [];
  function chartData(el) {
    var script = el.parentNode.querySelector('script[type="application/json"]');
    return script ? JSON.parse(script.textContent) : null;
  }
  function setupCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-rec-chart]:not([data-ready])").forEach(function (el) {
      var data = chartData(el);
      if (!data) return;
      el.dataset.ready = "1";
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var option = {
        animation: false,
        grid: { left: 44, right: 12, top: 24, bottom: 28 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "time", axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", scale: true },
      };
      if (el.dataset.recChart === "trend") {
        var series = { type: "line", name: data.name, data: data.series, symbolSize: 7, lineStyle: { width: 2 } };
        if (data.low !== null || data.high !== null) {
          series.markArea = { silent: true, itemStyle: { color: "rgba(30,107,52,0.10)" },
            data: [[{ yAxis: data.low === null ? 0 : data.low }, { yAxis: data.high === null ? "max" : data.high }]] };
        }
        option.series = [series];
      } else {
        option.legend = { top: 0, type: "scroll" };
        option.grid.top = 40;
        option.series = data.series.map(function (s) { return { type: "line", name: s.name, data: s.data, symbolSize: 5 }; });
      }
      chart.setOption(option);
      charts.push(chart);
    });
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  // --- DICOM viewer ---------------------------------------------------------------------------------
  // An image loader for uncompressed DICOM (explicit or implicit VR little endian), the form sites store:
  // "records:<url>" is fetched with the session, parsed by dicomParser and handed to Cornerstone.
  function dicomImage(imageId, buffer) {
    var bytes = new Uint8Array(buffer);
    var ds = window.dicomParser.parseDicom(bytes);
    var rows = ds.uint16("x00280010"), cols = ds.uint16("x00280011");
    var bits = ds.uint16("x00280100") || 16, signed = ds.uint16("x00280103") === 1;
    var element = ds.elements.x7fe00010;
    var offset = bytes.byteOffset + element.dataOffset, length = rows * cols;
    var pixels;
    if (bits === 8) pixels = new Uint8Array(buffer.slice(element.dataOffset, element.dataOffset + length));
    else {
      var copy = buffer.slice(element.dataOffset, element.dataOffset + length * 2);
      pixels = signed ? new Int16Array(copy) : new Uint16Array(copy);
    }
    var min = Infinity, max = -Infinity;
    for (var i = 0; i < pixels.length; i++) { var v = pixels[i]; if (v < min) min = v; if (v > max) max = v; }
    var slope = parseFloat(ds.string("x00281053") || "1"), intercept = parseFloat(ds.string("x00281052") || "0");
    var wc = parseFloat((ds.string("x00281050") || "").split("\\")[0]), ww = parseFloat((ds.string("x00281051") || "").split("\\")[0]);
    var spacing = (ds.string("x00280030") || "1\\1").split("\\").map(parseFloat);
    void offset;
    return {
      imageId: imageId, minPixelValue: min, maxPixelValue: max, slope: slope, intercept: intercept,
      windowCenter: isNaN(wc) ? (max + min) / 2 * slope + intercept : wc,
      windowWidth: isNaN(ww) ? (max - min) * slope || 1 : ww,
      getPixelData: function () { return pixels; }, rows: rows, columns: cols, height: rows, width: cols,
      color: false, invert: ds.string("x00280004") === "MONOCHROME1",
      columnPixelSpacing: spacing[1] || 1, rowPixelSpacing: spacing[0] || 1, sizeInBytes: pixels.byteLength,
      description: [ds.string("x00080060"), ds.string("x0008103e")].filter(Boolean).join(" · "),
    };
  }
  var loaderReady = false;
  function registerLoader() {
    if (loaderReady || !window.cornerstone || !window.dicomParser) return loaderReady;
    window.cornerstone.registerImageLoader("records", function (imageId) {
      var url = imageId.slice("records:".length);
      var promise = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.arrayBuffer();
      }).then(function (buffer) { return dicomImage(imageId, buffer); });
      return { promise: promise };
    });
    loaderReady = true;
    return true;
  }
  function setupViewers(root) {
    if (!registerLoader()) return;
    root.querySelectorAll(".rec-dicom:not([data-ready])").forEach(function (box) {
      box.dataset.ready = "1";
      var cs = window.cornerstone;
      var view = box.querySelector(".rec-dicom-view");
      var slider = box.querySelector(".rec-dicom-slice"), counter = box.querySelector(".rec-dicom-n");
      var info = box.querySelector(".rec-dicom-info");
      var ids = box.dataset.slices.split(" ").filter(Boolean).map(function (u) { return "records:" + u; });
      var current = -1, windowing = null;
      cs.enable(view);
      function show(index) {
        index = Math.max(0, Math.min(ids.length - 1, index));
        current = index;
        slider.value = index + 1;
        counter.textContent = index + 1;
        cs.loadAndCacheImage(ids[index]).then(function (image) {
          if (current !== index) return;
          var viewport = cs.getDefaultViewportForImage(view, image);
          if (windowing) viewport.voi = { windowCenter: windowing[0], windowWidth: windowing[1] };
          cs.displayImage(view, image, viewport);
          box.dataset.shown = String(index + 1);
          var voi = viewport.voi;
          info.textContent = (image.description ? image.description + " · " : "") + "W " + Math.round(voi.windowWidth) + " / L " + Math.round(voi.windowCenter);
        }).catch(function () { info.textContent = "×"; });
      }
      slider.addEventListener("input", function () { show(parseInt(slider.value, 10) - 1); });
      view.addEventListener("wheel", function (e) { e.preventDefault(); show(current + (e.deltaY > 0 ? 1 : -1)); }, { passive: false });
      // Drag up/down on a phone to move through the slices (one slice per 8 px).
      var start = null;
      view.addEventListener("pointerdown", function (e) { start = [e.clientY, current]; view.setPointerCapture(e.pointerId); });
      view.addEventListener("pointermove", function (e) { if (start) show(start[1] + Math.round((e.clientY - start[0]) / 8)); });
      view.addEventListener("pointerup", function () { start = null; });
      box.querySelectorAll(".rec-wl").forEach(function (b) {
        b.addEventListener("click", function () {
          windowing = [parseFloat(b.dataset.wc), parseFloat(b.dataset.ww)];
          box.querySelectorAll(".rec-wl").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
          show(current);
        });
      });
      window.addEventListener("resize", function () { cs.resize(view, true); });
      show(Math.floor(ids.length / 2));
    });
  }

  function setup(root) { setupReveal(root); setupCharts(root); setupViewers(root); }
  function start() {
    setup(document);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) { if (node.nodeType === 1) setup(node); });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
