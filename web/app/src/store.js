// A tiny observable value and the hook that re-renders a component when it changes.
import { useLayoutEffect, useState } from 'preact/hooks';

export class Store {
  constructor(value) {
    this.value = value;
    this.listeners = new Set();
  }
  get() {
    return this.value;
  }
  set(next) {
    this.value = typeof next === 'function' ? next(this.value) : next;
    for (const l of [...this.listeners]) l(this.value);
  }
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// useStore returns the store's value and re-renders whenever it is set. It subscribes as soon as
// the component is in the page, and a value set between the render and the subscription (say, the
// route changed the instant after sign-in) re-renders at once instead of being missed.
export function useStore(store) {
  const value = store.get();
  const [, force] = useState(0);
  useLayoutEffect(() => {
    const unsubscribe = store.subscribe(() => force((n) => n + 1));
    if (store.get() !== value) force((n) => n + 1);
    return unsubscribe;
  }, [store]);
  return value;
}
