// Live preview of what an alias change does to sending rights, as the admin types.
// The form works without it: saving always shows the same preview before anything is written.
(function () {
  "use strict";
  var box = document.getElementById("live-preview");
  if (!box || !window.fetch) return;
  var form = box.closest("form");
  var timer = null;
  var latest = 0;

  function refresh() {
    var params = new URLSearchParams();
    ["source", "destinations", "destination"].forEach(function (name) {
      var field = form.elements[name];
      if (field) params.set(name, field.value);
    });
    if (box.dataset.alias) params.set("alias", box.dataset.alias);
    var ticket = ++latest;
    fetch(box.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.status === 200 ? response.text() : ""; })
      .then(function (html) { if (ticket === latest) box.innerHTML = html; })
      .catch(function () { /* the preview is a convenience; saving still shows it */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  });
  refresh();
})();
