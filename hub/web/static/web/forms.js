// A <select data-autosubmit> sends its form when changed (the language switch, list filters): no inline
// event handlers, which the Content-Security-Policy refuses.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target && target.matches && target.matches("select[data-autosubmit]") && target.form) target.form.submit();
});
