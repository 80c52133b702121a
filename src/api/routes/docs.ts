import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenApiDocument } from '../contract/openapiDocument';

/**
 * The OpenAPI document and a browsable page for it. Both are public: they describe the API,
 * they do not open it. Swagger UI's assets are served from the installed package, so the page
 * works on a machine with no route to the internet.
 */
export function docsRoutes(document: OpenApiDocument): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use('/docs', swaggerUi.serveFiles(document), swaggerUi.setup(document, { customSiteTitle: 'argus-serve API' }));
  return router;
}
