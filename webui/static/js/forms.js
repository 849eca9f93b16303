/* Liucheng forms: add and remove the rows of a table in place (templates/tasks/_form.html), and mark a field
   with required_if (data-required-if) required while its conditions hold.
   Without this script the same buttons submit the form, which comes back with a row more or less, and the
   hint under a conditional field says when it is required (the engine enforces it either way). */
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

  // -- required_if: conditions [{field, equals|not_equals|in}] on the fields of the same form or row --------
  function controls(box) {
    return Array.prototype.slice.call(box.querySelectorAll("input[name], select[name], textarea[name]"));
  }

  function currentValue(form, name) {
    var checked = form.querySelector('[name="' + name + '"]:checked');
    if (checked) { return checked.value; }
    var input = form.querySelector('[name="' + name + '"]');
    if (!input || input.type === "radio" || input.type === "checkbox") { return ""; }
    return input.value;
  }

  function holds(condition, value) {
    if (value === "") { return false; }
    if ("equals" in condition) { return value === condition.equals; }
    if ("not_equals" in condition) { return value !== condition.not_equals; }
    return (condition["in"] || []).indexOf(value) >= 0;
  }

  function mark(box) {
    var inputs = controls(box), form = box.closest("form");
    if (!inputs.length || !form) { return; }
    var own = inputs[0].name;
    var prefix = own.slice(0, Math.max(own.lastIndexOf("-"), own.lastIndexOf(".")) + 1);
    var conditions = JSON.parse(box.getAttribute("data-required-if") || "[]");
    var required = conditions.length > 0 && conditions.every(function (c) {
      return holds(c, currentValue(form, prefix + c.field));
    });
    var target = inputs[0].type === "radio" ? inputs.slice(0, 1)
      : inputs.filter(function (el) { return el.type !== "checkbox"; });
    target.forEach(function (el) {
      el.required = required;
      if (required) { el.setAttribute("aria-required", "true"); } else { el.removeAttribute("aria-required"); }
    });
    var star = box.querySelector(".req");
    if (star) { star.hidden = !required; }
  }

  function markAll() { document.querySelectorAll("[data-required-if]").forEach(mark); }
  document.addEventListener("change", markAll);
  document.addEventListener("input", markAll);
  markAll();
})();
