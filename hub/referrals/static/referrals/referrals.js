// The request pages: emergency presets, "now" buttons, live patient search, files chosen, the first error in view,
// opinion templates. Everything also works without this script (the buttons submit the form).
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }
  function localNow() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  // After a refused submission: the first error in view and focused.
  function focusFirstError() {
    var summary = document.getElementById("form-errors");
    var field = document.querySelector(".has-error input, .has-error select, .has-error textarea");
    var target = field || summary;
    if (!target) return;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  function presets() {
    Array.prototype.forEach.call(document.querySelectorAll("button.preset"), function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var values = { kind: button.dataset.kind, urgency: button.dataset.urgency, pathway: button.dataset.pathway,
          target_specialty: button.dataset.targetspecialty };
        Object.keys(values).forEach(function (name) {
          var field = document.getElementById("id_" + name);
          if (field && values[name] !== undefined) field.value = values[name];
        });
        Array.prototype.forEach.call(document.querySelectorAll("button.preset"), function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        var question = document.getElementById("id_clinical_question");
        if (question && !question.value) question.focus();
      });
    });
  }

  function nowButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button.now[data-for]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.getElementById(button.dataset.for);
        if (field) { field.value = localNow(); field.dispatchEvent(new Event("change")); }
      });
    });
  }

  function liveSearch() {
    var input = document.getElementById("id_q");
    var results = document.getElementById("patients-found");
    if (!input || !results) return;
    var timer = null, last = input.value;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q === last) return;
        last = q;
        if (q.length < 2) { results.textContent = ""; return; }
        fetch(input.dataset.fragmentUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "X-Fragment": "patients" } })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html !== null && input.value.trim() === q) results.innerHTML = html; })
          .catch(function () {});
      }, 250);
    });
  }

  function filesChosen() {
    var list = document.getElementById("files-chosen");
    if (!list) return;
    var inputs = document.querySelectorAll('input[type=file][name=files]');
    function show() {
      list.textContent = "";
      Array.prototype.forEach.call(inputs, function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) {
          var li = document.createElement("li");
          if (file.type.indexOf("image/") === 0 && window.URL) {
            var img = document.createElement("img");
            img.src = URL.createObjectURL(file);
            img.alt = file.name;
            li.append(img);
          }
          var name = document.createElement("span");
          name.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
          li.append(name);
          list.append(li);
        });
      });
    }
    Array.prototype.forEach.call(inputs, function (input) { input.addEventListener("change", show); });
  }

  function opinionTemplates() {
    var select = document.querySelector("[data-opinion-templates]");
    var data = document.getElementById("opinion-templates-data");
    if (!select || !data) return;
    var templates = JSON.parse(data.textContent);
    select.addEventListener("change", function () {
      var t = templates[Number(select.value)];
      if (!t || select.value === "") return;
      var form = select.closest("form");
      var fields = ["title", "conclusion", "recommendations", "decision"].map(function (name) {
        return [form.querySelector('[name="opinion-' + name + '"]'), t[name]];
      });
      var typed = fields.some(function (pair) { return pair[0] && pair[0].tagName === "TEXTAREA" && pair[0].value.trim(); });
      if (typed && !window.confirm(select.options[select.selectedIndex].text + "?")) return;
      fields.forEach(function (pair) { if (pair[0]) pair[0].value = pair[1] || ""; });
    });
  }

  function init() {
    presets();
    nowButtons();
    liveSearch();
    filesChosen();
    opinionTemplates();
  }
  document.addEventListener("DOMContentLoaded", function () { init(); focusFirstError(); });
  document.addEventListener("hub:updated", function () { nowButtons(); opinionTemplates(); });
})();
