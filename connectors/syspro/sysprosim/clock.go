package sysprosim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of "now": the wall clock (or a fixed start) plus an offset that
// POST /_sim/clock moves forward. Session idle timeouts, order dates and GL periods all read it.
type Clock struct {
	mu     sync.Mutex
	start  time.Time // zero means the wall clock
	offset time.Duration
}

// NewClock returns a clock that starts at start, or follows the wall clock when start is zero.
func NewClock(start time.Time) *Clock { return &Clock{start: start} }

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	base := c.start
	if base.IsZero() {
		base = time.Now()
	}
	return base.Add(c.offset)
}

// Advance moves the clock forward by d (negative durations are ignored: time does not run back).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
