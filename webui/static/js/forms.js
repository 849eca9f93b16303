/* Liucheng forms: add and remove the rows of a table in place (templates/tasks/_form.html).
   Without this script the same buttons submit the form, which comes back with a row more or less. */
(function () {
  "use strict";
  var PLACEHOLDER = /__row__/g;
  var RENAMED = ["name", "id", "for", "value", "aria-labelledby", "aria-describedby"];

  function rowsOf(box) { return box.querySelector("tbody").rows; }

  function refresh(box) {
    var rows = rowsOf(box), min = +box.getAttribute("data-min") || 0, max = +box.getAttribute("data-max") || 1000;
    for (var i = 0; i < rows.length; i++) {
      var number = rows[i].querySelector("th.row-no");
      if (number) { number.textContent = String(i + 1); }
      var remove = rows[i].querySelector("[data-remove-row]");
      if (remove) { remove.disabled = rows.length <= min; }
    }
    var add = box.querySelector("[data-add-row]");
    if (add) { add.disabled = rows.length >= max; }
  }

  function addRow(box) {
    var template = box.querySelector("template[data-row-template]");
    var max = +box.getAttribute("data-max") || 1000;
    if (!template || rowsOf(box).length >= max) { return; }
    var index = String(+box.getAttribute("data-next") || rowsOf(box).length);
    box.setAttribute("data-next", String(+index + 1));
    var row = template.content.firstElementChild.cloneNode(true);
    [row].concat(Array.prototype.slice.call(row.querySelectorAll("*"))).forEach(function (el) {
      RENAMED.forEach(function (attribute) {
        var value = el.getAttribute(attribute);
        if (value && value.indexOf("__row__") >= 0) { el.setAttribute(attribute, value.replace(PLACEHOLDER, index)); }
      });
    });
    row.setAttribute("data-row", index);
    box.querySelector("tbody").appendChild(row);
    refresh(box);
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  function removeRow(box, row) {
    var min = +box.getAttribute("data-min") || 0;
    if (rowsOf(box).length <= min) { return; }
    row.parentNode.removeChild(row);
    refresh(box);
    var add = box.querySelector("[data-add-row]");
    if (add) { add.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-add-row], [data-remove-row]");
    var box = button && button.closest("[data-rows]");
    if (!box) { return; }
    event.preventDefault();
    if (button.hasAttribute("data-add-row")) { addRow(box); } else { removeRow(box, button.closest("tr")); }
  });
  document.querySelectorAll("[data-rows]").forEach(refresh);
})();
