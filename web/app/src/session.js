// Who is signed in: the API key (kept in localStorage when the user asked to be remembered on
// this device, else in sessionStorage) and what the hub said about it (viewer: name and role).
// The key itself is never logged or shown.
import { Store } from './store.js';

const STORAGE_KEY = 'payhub.dashboard.apiKey';

// null while signed out; else { key, name, role }.
export const session = new Store(null);
// A message for the sign-in form (why the user is there again), or null.
export const signInNotice = new Store(null);

export function storedKey() {
  try {
    return localStorage.getItem(STORAGE_KEY) || sessionStorage.getItem(STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export function rememberedKey() {
  try {
    return !!localStorage.getItem(STORAGE_KEY);
  } catch {
    return false;
  }
}

export function signIn(key, viewer, remember) {
  try {
    localStorage.removeItem(STORAGE_KEY);
    sessionStorage.removeItem(STORAGE_KEY);
    (remember ? localStorage : sessionStorage).setItem(STORAGE_KEY, key);
  } catch {
    // Storage refused (private mode): the session lasts as long as the page.
  }
  signInNotice.set(null);
  session.set({ key, name: viewer.name, role: viewer.role });
}

export function signOut(notice = null) {
  try {
    localStorage.removeItem(STORAGE_KEY);
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
  signInNotice.set(notice);
  session.set(null);
}

// canAct tells whether a role may use the finance actions (reposts, fraud decisions, ...).
export function canAct(role) {
  return role === 'FINANCE' || role === 'ADMIN';
}

export const READ_ONLY_REASON = 'Needs a FINANCE key: this key is read-only (DASHBOARD).';
