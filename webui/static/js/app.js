/* Liucheng web worklist: small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  // Ask before forms marked data-confirm are sent.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  // Diagram: toggle between fitting the width and the drawn size; show the active step.
  document.querySelectorAll(".diagram").forEach(function (box) {
    var active = box.querySelector(".el.active, .el.failed");
    if (active && active.getBoundingClientRect) {
      var a = active.getBoundingClientRect(), b = box.getBoundingClientRect();
      box.scrollLeft += a.left - b.left - b.width / 2 + a.width / 2;
      box.scrollTop += a.top - b.top - b.height / 2 + a.height / 2;
    }
  });
  document.querySelectorAll("[data-diagram-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var box = button.closest(".diagram-panel").querySelector(".diagram");
      box.classList.toggle("fit");
    });
  });
  // Focus the first field with an error after a failed submission.
  var invalid = document.querySelector(".has-error input, .has-error select, .has-error textarea");
  if (invalid) { invalid.focus(); }
})();
