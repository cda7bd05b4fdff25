package opayosim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of "now": a fixed start (or the wall clock) plus an offset that
// Advance and POST /_sim/clock move forward. Merchant session key and card identifier lifetimes,
// same-day void rules, deferred expiry, notification retries and the midnight settlement run all
// read it.
type Clock struct {
	mu     sync.Mutex
	start  time.Time // zero means the wall clock
	offset time.Duration

	// onAdvance runs after every Advance, outside the lock: the Server uses it to run settlement and
	// due notification retries synchronously, so a test sees their effects as soon as Advance returns.
	onAdvance func()
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

// Advance moves the clock forward by d (negative durations are ignored: time does not run back),
// then runs whatever became due: settlement batches for every midnight passed and notification
// retries scheduled up to the new time.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	hook := c.onAdvance
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (c *Clock) setOnAdvance(f func()) {
	c.mu.Lock()
	c.onAdvance = f
	c.mu.Unlock()
}
