// Starts Swagger UI on /api/docs (an external file: the CSP allows no inline script).
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: node.getAttribute("data-spec-url"), domNode: node, deepLinking: false });
})();
