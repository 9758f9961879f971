// Swagger UI over the API's generated OpenAPI document (GET /api/v1/openapi.json), served from swagger-ui-dist.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  // "Try it out" calls go to this same origin; the API's Host and Origin checks let same-origin requests through.
  tryItOutEnabled: false,
  // Swagger UI would otherwise send the document to validator.swagger.io for a badge: no network at run time.
  validatorUrl: null,
});
