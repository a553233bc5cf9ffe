/* The live view of a patient's bedside devices: numerics, scrolling waves (uPlot), alarms, trends.
   One websocket per panel (/ws/devices/patients/<id>/); it reconnects with back-off. */
(function () {
  "use strict";
  var WINDOW = 5; // seconds of wave on screen
  var TILES = [["hr", "HR", "/min"], ["pr", "PR", "/min"], ["spo2", "SpO2", "%"], ["bp", "NIBP", "mmHg"], ["rr", "RR", "/min"],
    ["temp", "T", "°C"], ["etco2", "EtCO2", "mmHg"], ["st2", "ST II", "mm"], ["peep", "PEEP", "cmH2O"], ["fio2", "FiO2", "%"],
    ["vt", "VT", "mL"], ["vrr", "fSet", "/min"]];
  var WAVES = { ecg2: ["ECG II", "#3fb950"], pleth: ["Pleth", "#58a6ff"], co2wave: ["CO2", "#e3b341"] };

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }

  function Panel(root) {
    this.root = root; this.L = root.dataset; this.devices = {}; this.lastAt = 0; this.retry = 1000; this.alarms = {};
    this.connect();
    var self = this;
    setInterval(function () { self.tickAge(); }, 1000);
    var draw = function () { self.drawWaves(); window.requestAnimationFrame(draw); };
    window.requestAnimationFrame(draw);
  }
  Panel.prototype.state = function (s) {
    var e = this.root.querySelector(".dv-state"); e.dataset.state = s; e.textContent = this.L["l" + s.charAt(0).toUpperCase() + s.slice(1)] || s;
  };
  Panel.prototype.connect = function () {
    var self = this, proto = location.protocol === "https:" ? "wss://" : "ws://";
    this.state("connecting");
    var ws = this.ws = new WebSocket(proto + location.host + "/ws/devices/patients/" + this.root.dataset.patient + "/");
    ws.onopen = function () { self.retry = 1000; self.state("live"); };
    ws.onmessage = function (e) { self.onFrame(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      if (e.code === 4404 || e.code === 4401) { self.state("refused"); return; }
      self.state("closed"); setTimeout(function () { self.connect(); }, self.retry); self.retry = Math.min(self.retry * 2, 15000);
    };
  };
  Panel.prototype.send = function (frame) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame)); };
  Panel.prototype.tickAge = function () {
    var age = this.root.querySelector(".dv-age");
    age.textContent = this.lastAt ? this.L.lAge + " " + Math.max(0, Math.round(Date.now() / 1000 - this.lastAt)) + " s" : "";
  };
  Panel.prototype.onFrame = function (f) {
    if (f.type === "snapshot") return this.snapshot(f);
    if (f.type === "vitals") return this.vitals(f);
    if (f.type === "alarm") return this.alarm(f);
    if (f.type === "strip") return this.toast(this.L.lSaved + ": " + f.observation);
    if (f.type === "error") return this.toast(f.detail);
  };
  Panel.prototype.toast = function (text) {
    var t = el("div", "dv-alarm dv-note", text); this.root.querySelector(".dv-alarms").appendChild(t);
    setTimeout(function () { t.remove(); }, 4000);
  };
  Panel.prototype.snapshot = function (s) {
    var box = this.root.querySelector(".dv-devices"); box.textContent = "";
    this.devices = {};
    if (!s.devices.length) box.appendChild(el("p", "muted", this.L.lNone));
    for (var i = 0; i < s.devices.length; i++) this.device(s.devices[i]);
    for (var key in s.latest) { if (this.devices[key]) this.numerics(this.devices[key], s.latest[key].numerics); this.lastAt = Math.max(this.lastAt, s.latest[key].at); }
    this.root.querySelector(".dv-alarms").textContent = ""; this.alarms = {};
    for (var j = 0; j < s.alarms.length; j++) this.alarm(s.alarms[j]);
    this.trends(s.trends);
  };
  Panel.prototype.device = function (d) {
    var self = this, box = el("div", "dv-device"), head = el("header");
    head.appendChild(el("strong", "", d.key + (d.ward || d.bed ? " · " + [d.ward, d.bed].join(" ") : "")));
    head.appendChild(el("span", "muted dv-devstate", d.state === "online" ? this.L.lOnline : this.L.lOffline));
    box.appendChild(head);
    var tiles = el("div", "dv-tiles"); box.appendChild(tiles);
    var waves = el("div", "dv-waves"); box.appendChild(waves);
    var actions = el("div", "dv-actions"); box.appendChild(actions);
    this.root.querySelector(".dv-devices").appendChild(box);
    this.devices[d.key] = { info: d, box: box, tiles: tiles, waveBox: waves, actions: actions, tileEls: {}, waves: {} };
  };
  Panel.prototype.tile = function (dev, key) {
    if (dev.tileEls[key]) return dev.tileEls[key];
    var spec = TILES.filter(function (t) { return t[0] === key; })[0] || [key, key, ""];
    var t = el("div", "dv-tile dv-" + key); t.appendChild(el("div", "dv-label", spec[1]));
    var v = el("div", "dv-value", "--"); t.appendChild(v); t.appendChild(el("div", "dv-unit", spec[2]));
    var order = TILES.map(function (x) { return x[0]; }), at = order.indexOf(key), placed = false;
    for (var k in dev.tileEls) { if (order.indexOf(k) > at) { dev.tiles.insertBefore(t, dev.tileEls[k].parentNode); placed = true; break; } }
    if (!placed) dev.tiles.appendChild(t);
    dev.tileEls[key] = v; return v;
  };
  Panel.prototype.numerics = function (dev, n) {
    for (var key in n) {
      if (key === "sys" || key === "dia" || key === "map") continue;
      this.tile(dev, key).textContent = Math.round(n[key] * 10) / 10;
    }
    if (n.sys != null) this.tile(dev, "bp").textContent = Math.round(n.sys) + "/" + (n.dia != null ? Math.round(n.dia) : "-");
  };
  Panel.prototype.vitals = function (f) {
    var dev = this.devices[f.device];
    if (!dev) { this.send({ type: "ping" }); return; }
    this.lastAt = Math.max(this.lastAt, f.at);
    dev.box.querySelector(".dv-devstate").textContent = this.L.lOnline;
    this.numerics(dev, f.numerics || {});
    for (var w in f.waves || {}) this.wave(dev, w, f.waves[w]);
  };
  Panel.prototype.wave = function (dev, key, chunk) {
    var self = this, wv = dev.waves[key];
    if (!wv) {
      var n = Math.round(chunk.rate * WINDOW), xs = new Float64Array(n), ys = new Array(n).fill(null);
      for (var i = 0; i < n; i++) xs[i] = i / chunk.rate;
      var holder = el("div", "dv-wave"); dev.waveBox.appendChild(holder);
      var spec = WAVES[key] || [key, "#ccc"];
      var width = Math.max(200, Math.floor(dev.waveBox.clientWidth || this.root.clientWidth - 20));
      var plot = window.uPlot ? new window.uPlot({ width: width, height: 70, legend: { show: false }, cursor: { show: false },
        scales: { x: { time: false } }, axes: [{ show: false }, { show: false }],
        series: [{}, { label: spec[0], stroke: spec[1], width: 1.5, spanGaps: false }] }, [xs, ys], holder) : null;
      wv = dev.waves[key] = { n: n, xs: xs, ys: ys, pos: 0, plot: plot, dirty: false, holder: holder };
      var b = el("button", "", this.L.lStrip + " · " + spec[0]);
      b.type = "button"; b.onclick = function () { self.send({ type: "strip", device: dev.info.key, wave: key }); };
      dev.actions.appendChild(b);
    }
    for (var j = 0; j < chunk.data.length; j++) {
      wv.ys[wv.pos] = chunk.data[j]; wv.pos = (wv.pos + 1) % wv.n;
      wv.ys[(wv.pos + Math.round(wv.n / 50)) % wv.n] = null; // the gap that sweeps ahead of the pen
    }
    wv.dirty = true;
  };
  Panel.prototype.drawWaves = function () {
    for (var k in this.devices) {
      var dev = this.devices[k];
      for (var w in dev.waves) {
        var wv = dev.waves[w];
        if (!wv.dirty || !wv.plot) continue;
        var width = Math.floor(dev.waveBox.clientWidth);
        if (width && Math.abs(width - wv.plot.width) > 4) wv.plot.setSize({ width: width, height: 70 });
        wv.plot.setData([wv.xs, wv.ys]); wv.dirty = false;
      }
    }
  };
  Panel.prototype.alarm = function (a) {
    var self = this, box = this.root.querySelector(".dv-alarms"), row = this.alarms[a.id];
    if (!row) { row = this.alarms[a.id] = el("div", "dv-alarm"); box.insertBefore(row, box.firstChild); }
    row.className = "dv-alarm dv-" + a.priority + (a.acknowledged ? " dv-acked" : "");
    row.textContent = "";
    row.appendChild(el("strong", "", a.message));
    row.appendChild(el("span", "muted", a.device + " · " + new Date(a.raised_at * 1000).toLocaleTimeString()));
    if (!a.acknowledged) {
      var b = el("button", "", this.L.lAck); b.type = "button";
      b.onclick = function () { self.send({ type: "ack", alarm: a.id }); };
      row.appendChild(b);
    } else { setTimeout(function () { row.remove(); delete self.alarms[a.id]; }, 3000); }
  };
  Panel.prototype.trends = function (t) {
    var box = this.root.querySelector(".dv-trends"); box.textContent = "";
    var keys = ["hr", "spo2", "sys", "rr"].filter(function (k) { return t[k] && t[k].length > 1; });
    if (!keys.length || !window.uPlot) return;
    box.appendChild(el("div", "muted", this.L.lTrends));
    var base = t[keys[0]].map(function (r) { return r[0]; }), data = [base];
    var colors = { hr: "#3fb950", spo2: "#58a6ff", sys: "#f85149", rr: "#e3b341" };
    keys.forEach(function (k) {
      var by = {}; t[k].forEach(function (r) { by[r[0]] = r[2]; });
      data.push(base.map(function (x) { return by[x] == null ? null : by[x]; }));
    });
    var holder = el("div", "dv-wave"); box.appendChild(holder);
    new window.uPlot({ width: Math.max(200, box.clientWidth || 300), height: 120,
      series: [{}].concat(keys.map(function (k) { return { label: k, stroke: colors[k] }; })),
      axes: [{ stroke: "#8b949e" }, { stroke: "#8b949e" }] }, data, holder);
  };

  function start() { var panels = document.querySelectorAll(".dv-panel"); for (var i = 0; i < panels.length; i++) if (!panels[i].dvPanel) panels[i].dvPanel = new Panel(panels[i]); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
