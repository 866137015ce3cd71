// The admin's only script (no inline ones: the Content-Security-Policy allows scripts from this site only).
// A <select data-submit-on-change> sends its form when its choice changes (the tier scheme's settings).
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-submit-on-change]")) {
    event.target.form.submit();
  }
});
