// Starts Swagger UI on /api/v1/docs (an init script of our own: the page has no inline script, see loyalty/api/docs.py).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: root.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true});
});
