package opayosim

import "time"

// RetryPolicy says when the simulator retries a Server-protocol notification POST that got no
// usable reply (a transport error, a non-2xx status, or a body that does not start with Status=).
// The first attempt is made at once, while the shopper waits; retry n (1..Count) happens at
// First + (n-1)·Interval after it, on the simulator clock.
type RetryPolicy struct {
	// First is the delay from the first attempt to the first retry.
	First time.Duration
	// Interval is the delay between later retries.
	Interval time.Duration
	// Count is the number of retries after the first attempt. Negative means none.
	Count int
}

// Defaults for a zero RetryPolicy: three retries, one minute apart, on the simulator clock.
const (
	NotificationRetryFirstDefault    = time.Minute
	NotificationRetryIntervalDefault = time.Minute
	NotificationRetryCountDefault    = 3
)

// withDefaults fills zero fields with the documented defaults; Count < 0 disables retries.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.First <= 0 {
		p.First = NotificationRetryFirstDefault
	}
	if p.Interval <= 0 {
		p.Interval = NotificationRetryIntervalDefault
	}
	switch {
	case p.Count == 0:
		p.Count = NotificationRetryCountDefault
	case p.Count < 0:
		p.Count = 0
	}
	return p
}

// delayBefore is the wait between attempt n (1-based, the first attempt being 1) and attempt n+1.
func (p RetryPolicy) delayBefore(n int) time.Duration {
	if n <= 1 {
		return p.First
	}
	return p.Interval
}
