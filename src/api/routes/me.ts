import { Router } from 'express';
import { currentUser } from '../auth';
import type { WhoAmIBody } from '../contract/responseSchemas';

/** The token's holder: how a client checks a token and learns whether to offer admin pages. */
export function meRoutes(): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const user = currentUser(req);
    const body: WhoAmIBody = { user_id: user.userId, is_admin: user.isAdmin };
    res.json(body);
  });
  return router;
}
