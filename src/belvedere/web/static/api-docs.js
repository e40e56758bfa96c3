/* The interactive API reference: Swagger UI, served by Belvedere itself (no CDN), reading /openapi.json. */
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.getAttribute("data-spec"), domNode: root, deepLinking: true });
});
