package anomaly

// lru is a map whose entries are kept in order of last use (event time). It is bounded two
// ways: at most max entries (the least recently used is dropped to make room), and sweep drops
// entries not used for ttl. Events arrive mostly in time order, so the list order is the order of
// last-use times; a slightly late event can leave an entry a little out of place, which only
// delays its sweep.
type lru[K comparable, V any] struct {
	max  int
	ttl  int64 // nanoseconds
	m    map[K]*lruNode[K, V]
	root lruNode[K, V] // sentinel: root.next is the most recently used, root.prev the least
}

type lruNode[K comparable, V any] struct {
	key        K
	last       int64 // unix nanoseconds of the last use
	val        V
	prev, next *lruNode[K, V]
}

func newLRU[K comparable, V any](max int, ttl int64) *lru[K, V] {
	l := &lru[K, V]{max: max, ttl: ttl, m: make(map[K]*lruNode[K, V])}
	l.root.next, l.root.prev = &l.root, &l.root
	return l
}

// get returns key's value, creating it with mk when absent, and marks it used at now.
func (l *lru[K, V]) get(key K, now int64, mk func() V) V {
	if n, ok := l.m[key]; ok {
		if now > n.last {
			n.last = now
		}
		if l.root.next != n {
			l.unlink(n)
			l.pushFront(n)
		}
		return n.val
	}
	if l.max > 0 && len(l.m) >= l.max {
		l.remove(l.root.prev)
	}
	n := &lruNode[K, V]{key: key, last: now, val: mk()}
	l.m[key] = n
	l.pushFront(n)
	return n.val
}

// sweep forgets entries last used before now − ttl and returns how many it dropped.
func (l *lru[K, V]) sweep(now int64) int {
	if l.ttl <= 0 {
		return 0
	}
	cutoff, dropped := now-l.ttl, 0
	for n := l.root.prev; n != &l.root && n.last < cutoff; n = l.root.prev {
		l.remove(n)
		dropped++
	}
	return dropped
}

func (l *lru[K, V]) len() int { return len(l.m) }

// each calls f for every value, most recently used first.
func (l *lru[K, V]) each(f func(V)) {
	for n := l.root.next; n != &l.root; n = n.next {
		f(n.val)
	}
}

func (l *lru[K, V]) remove(n *lruNode[K, V]) {
	l.unlink(n)
	delete(l.m, n.key)
}

func (l *lru[K, V]) unlink(n *lruNode[K, V]) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (l *lru[K, V]) pushFront(n *lruNode[K, V]) {
	n.prev, n.next = &l.root, l.root.next
	l.root.next.prev = n
	l.root.next = n
}
