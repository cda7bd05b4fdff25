// A tiny observable value and the hook that re-renders a component when it changes.
import { useEffect, useState } from 'preact/hooks';

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

// useStore returns the store's value and re-renders whenever it is set.
export function useStore(store) {
  const [, force] = useState(0);
  useEffect(() => store.subscribe(() => force((n) => n + 1)), [store]);
  return store.get();
}
