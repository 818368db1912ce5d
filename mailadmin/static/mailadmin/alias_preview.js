// Live preview of an alias change as the admin types: where mail will go and who may send.
// The form works without it: saving shows the same preview before anything hazardous is written.
// While the input is incomplete the server answers with a short reason, shown in its place.
(function () {
  "use strict";
  var box = document.getElementById("live-preview");
  if (!box || !window.fetch) return;
  var form = box.closest("form");
  var timer = null;
  var latest = 0;

  function refresh() {
    var params = new URLSearchParams();
    ["source", "destinations"].forEach(function (name) {
      var field = form.elements[name];
      if (field && !field.disabled) params.set(name, field.value);
    });
    if (box.dataset.editing) params.set("editing", box.dataset.editing);
    var ticket = ++latest;
    fetch(box.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null && ticket === latest) box.innerHTML = html; })
      .catch(function () { /* the preview is a convenience; saving still shows it */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  if (!form.querySelector("input[name=confirmed]")) refresh();
})();
