import { gql, ApiError } from './api.js';
import { VIEWER } from './queries.js';

// The roles that may use the dashboard (STOREFRONT keys read orders only).
const BACK_OFFICE = ['DASHBOARD', 'FINANCE', 'ADMIN'];

// checkKey asks the hub who a key is; refuses keys the dashboard cannot work with.
export async function checkKey(key) {
  const data = await gql(VIEWER, {}, { key, signOutOnRefusal: false });
  const viewer = data.viewer;
  if (!BACK_OFFICE.includes(viewer.role)) {
    throw new ApiError([{ code: 'FORBIDDEN', message: `This is a ${viewer.role} key (${viewer.name}); the dashboard needs a DASHBOARD, FINANCE or ADMIN key.` }]);
  }
  return viewer;
}
