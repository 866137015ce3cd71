// The admin's only script (no inline ones: the Content-Security-Policy allows scripts from this site only).
// A <select data-submit-on-change> sends its form when its choice changes (the tier scheme's settings).
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-submit-on-change]")) {
    event.target.form.submit();
  }
});

// The navigation is a <details class="menu">, open in the page as sent (it works without this script). On a
// phone's width it folds behind its "Menu" button, so the page starts with the page, not fifteen links; on a wider
// screen it is always open and its button hidden (admin.css).
(function () {
  const menu = document.querySelector("details.menu");
  if (!menu) return;
  const narrow = window.matchMedia("(max-width: 700px)");
  const fit = function () { menu.open = !narrow.matches; };
  fit();
  narrow.addEventListener("change", fit);
})();
