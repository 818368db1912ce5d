// "Generate a password" or "Type a password": the password fields are shown only while "Type"
// is chosen. Without JavaScript every field shows, and the server refuses a typed password
// under "Generate" rather than throw it away. Fields that hold text are never hidden.
(function () {
  "use strict";
  var radios = document.querySelectorAll("input[name=password_mode]");
  if (!radios.length) return;
  var fields = ["password1", "password2"].map(function (name) {
    var input = document.querySelector("input[name=" + name + "]");
    return input && input.closest(".field");
  }).filter(Boolean);

  function typing() {
    var chosen = document.querySelector("input[name=password_mode]:checked");
    return chosen && chosen.value === "type";
  }

  function update() {
    var typed = fields.some(function (field) { return field.querySelector("input").value; });
    fields.forEach(function (field) { field.hidden = !typing() && !typed; });
  }

  radios.forEach(function (radio) { radio.addEventListener("change", update); });
  update();
})();
