package cybersourcesim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of "now". It starts at Options.Start (or the wall clock when that
// is zero), runs at the speed of real time, and POST /_sim/clock or Advance moves it forward.
// Submit times, the daily settlement cut-off, card expiry, the duplicate-request window, signature
// dates and webhook retry schedules all read it.
type Clock struct {
	mu        sync.Mutex
	start     time.Time // simulated time at realStart
	realStart time.Time // wall clock (with its monotonic reading) when the clock was made
	offset    time.Duration
	onAdvance func()
}

// NewClock returns a clock that reads start now and then runs with real time. A zero start means
// the wall clock.
func NewClock(start time.Time) *Clock {
	real := time.Now()
	if start.IsZero() {
		start = real
	}
	return &Clock{start: start.UTC(), realStart: real}
}

// Now returns the simulated time, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Since(c.realStart) + c.offset)
}

// Advance moves the clock forward by d and then lets the simulator catch up: due settlement
// cut-offs run and due webhook retries fire. Negative durations are ignored: time does not run back.
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

// setOnAdvance registers the simulator's catch-up hook.
func (c *Clock) setOnAdvance(f func()) {
	c.mu.Lock()
	c.onAdvance = f
	c.mu.Unlock()
}
