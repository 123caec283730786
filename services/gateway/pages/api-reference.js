// Starts Swagger UI on this gateway's own document. A separate file, not an inline script,
// so the page's Content-Security-Policy can forbid inline scripts and every other origin.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // the default sends the document to validator.swagger.io for a badge: no third party here
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
