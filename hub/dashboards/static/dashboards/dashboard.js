// The network dashboard's charts (Apache ECharts, shipped with the hub) and its period picker.
// The numbers come from the same payload as the page's tables, embedded as JSON ("dashboard-data").
(function () {
  "use strict";
  var picker = document.getElementById("picker");
  var kind = document.getElementById("id_kind");
  function showKind() {
    picker.querySelectorAll("[data-kind]").forEach(function (box) {
      var on = box.getAttribute("data-kind") === kind.value;
      box.hidden = !on;
      box.querySelectorAll("input, select").forEach(function (field) { field.disabled = !on; });
    });
  }
  if (picker && kind) { kind.addEventListener("change", showKind); showKind(); }

  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var labels = JSON.parse(document.getElementById("dashboard-labels").textContent);
  if (!window.echarts) { return; }
  var palette = ["#0a5fa3", "#c0392b", "#1e7b4a", "#8a4baf", "#b8620b", "#36505f"];
  var charts = [];
  var text = { color: "#1d2733" };

  function chart(id, option) {
    var box = document.getElementById(id);
    if (!box) { return; }
    var instance = window.echarts.init(box, null, { renderer: "svg" });
    option.color = palette;
    option.textStyle = text;
    option.aria = { enabled: true };
    instance.setOption(option);
    charts.push(instance);
  }
  function narrow() { return window.innerWidth < 600; }
  var grid = { left: 8, right: 16, top: 40, bottom: 8, containLabel: true };

  chart("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, textStyle: text },
    grid: grid,
    xAxis: { type: "category", data: data.trend.map(function (t) { return t.bucket; }), axisLabel: { color: "#1d2733", hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#1d2733" } },
    series: [
      { name: labels.requests, type: "line", data: data.trend.map(function (t) { return t.requests; }) },
      { name: labels.up, type: "bar", data: data.trend.map(function (t) { return t.up; }) },
      { name: labels.down, type: "bar", data: data.trend.map(function (t) { return t.down; }) }
    ]
  });

  chart("chart-kind", {
    tooltip: { trigger: "item" },
    legend: { bottom: 0, textStyle: text },
    series: [{
      type: "pie", radius: ["35%", "62%"], center: ["50%", "45%"],
      label: { color: "#1d2733", formatter: "{c}" },
      data: data.by_kind.map(function (k) { return { name: k.label, value: k.count }; })
    }]
  });

  var places = data.departments.length ? data.departments : data.sites;
  chart("chart-places", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, textStyle: text },
    grid: grid,
    xAxis: { type: "value", minInterval: 1, axisLabel: { color: "#1d2733" } },
    yAxis: { type: "category", inverse: true, data: places.map(function (p) { return p.name; }),
             axisLabel: { color: "#1d2733", width: narrow() ? 90 : 200, overflow: "truncate" } },
    series: [
      { name: labels.requesting, type: "bar", data: places.map(function (p) { return p.requesting.requests; }) },
      { name: labels.receiving, type: "bar", data: places.map(function (p) { return p.receiving.requests; }) }
    ]
  });

  var kpis = [];
  data.pathways.forEach(function (p) {
    p.intervals.forEach(function (i) { kpis.push({ name: p.label + " · " + i.label, share: i.met_share, required: i.required_share }); });
    p.rates.forEach(function (r) { kpis.push({ name: p.label + " · " + r.label, share: r.share, required: r.required_share }); });
  });
  chart("chart-pathways", {
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v.toFixed(1) + "%"; } },
    legend: { top: 0, textStyle: text },
    grid: grid,
    xAxis: { type: "value", max: 100, axisLabel: { color: "#1d2733", formatter: "{value}%" } },
    yAxis: { type: "category", inverse: true, data: kpis.map(function (k) { return k.name; }),
             axisLabel: { color: "#1d2733", width: narrow() ? 120 : 320, overflow: "truncate" } },
    series: [
      { name: labels.met, type: "bar", data: kpis.map(function (k) { return k.share === null ? null : +(k.share * 100).toFixed(1); }) },
      { name: labels.required, type: "scatter", symbol: "diamond", symbolSize: 12,
        data: kpis.map(function (k) { return k.required === null ? null : k.required * 100; }) }
    ]
  });
  var box = document.getElementById("chart-pathways");
  if (box) { box.style.height = Math.max(340, 60 + kpis.length * 28) + "px"; charts[charts.length - 1].resize(); }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
