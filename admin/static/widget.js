// The widget page's live preview: the real widget (/widget/v1/loyalty.js) as <loyalty-widget preview>, redrawn
// from the looks form on every change: `el.preview = {appearance, texts, view, program}` (every key; an empty
// label or text is its default, which the field shows as its placeholder), drawn with sample data, no network.
// `view` ("member" or "guest") and `program` (the name that fills {program}) are the widget's own extras.
(function () {
  "use strict";
  var form = document.getElementById("looks");
  var widget = document.querySelector("loyalty-widget[preview]");
  var view = document.getElementById("preview-view");
  if (!form || !widget || !window.customElements) {
    return;
  }

  function fieldValue(input) {
    var value = input.value;
    return value.trim() === "" ? input.placeholder : value;
  }

  function current() {
    var preview = {
      appearance: {},
      texts: {},
      view: view ? view.value : "member",
      program: widget.getAttribute("data-program-name") || "",
    };
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
    if (view) {
      view.addEventListener("change", draw);
    }
  });
})();
