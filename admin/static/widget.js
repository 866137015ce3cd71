// The widget page's live preview: the real widget (/widget/v1/loyalty.js) as <loyalty-widget preview>, redrawn
// from the looks form on every change (contract: `el.preview = {appearance, texts}`, sample data, no network).
// An empty label or text is its default, which the field shows as its placeholder.
(function () {
  "use strict";
  var form = document.getElementById("looks");
  var widget = document.querySelector("loyalty-widget[preview]");
  if (!form || !widget || !window.customElements) {
    return;
  }

  function fieldValue(input) {
    var value = input.value;
    return value.trim() === "" ? input.placeholder : value;
  }

  function current() {
    var preview = { appearance: {}, texts: {} };
    Array.prototype.forEach.call(form.elements, function (input) {
      var dot = input.name ? input.name.indexOf(".") : -1;
      if (dot < 0) {
        return;
      }
      var group = input.name.slice(0, dot);
      if (group === "appearance" || group === "texts") {
        preview[group][input.name.slice(dot + 1)] = fieldValue(input);
      }
    });
    return preview;
  }

  function draw() {
    widget.preview = current();
  }

  // Set only once the element is defined: a property set before the upgrade would hide the widget's setter.
  customElements.whenDefined("loyalty-widget").then(function () {
    draw();
    form.addEventListener("input", draw);
    form.addEventListener("change", draw);
  });
})();
