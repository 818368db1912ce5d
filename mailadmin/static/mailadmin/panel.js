// Small touches every page shares; each page works without them.
(function () {
  "use strict";

  // A table wider than the screen scrolls inside its frame: make that frame reachable and
  // named for keyboard and screen-reader users (only when it does scroll).
  function labelScrollingTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (!wrap.hasAttribute("aria-label")) {
          var heading = wrap.previousElementSibling;
          while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
          var title = heading ? heading.textContent.trim() : document.title.split("·")[0].trim();
          wrap.setAttribute("aria-label", title + " (scrolls sideways)");
        }
      }
    });
  }

  // Copy buttons next to configuration text.
  function enableCopyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.dataset.copy);
      if (!source) return;
      button.hidden = false;
      var label = button.firstChild.textContent;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.firstChild.textContent = "Copied ";
          setTimeout(function () { button.firstChild.textContent = label; }, 2000);
        });
      });
    });
  }

  labelScrollingTables();
  enableCopyButtons();
  window.addEventListener("resize", labelScrollingTables);
})();
