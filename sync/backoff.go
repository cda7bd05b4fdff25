package sync

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// Backoff is the retry schedule of failed jobs: exponential from Base, capped at Max, with
// jitter so that postings failed by one SYSPRO outage do not all return at the same moment.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// BackoffDefault retries after about 1 s, 2 s, 4 s, … up to 10 minutes apart.
var BackoffDefault = Backoff{Base: time.Second, Max: 10 * time.Minute}

// Delay is the wait before retry number attempt (1 = the first retry): a random duration between
// half and all of min(Max, Base·2^(attempt-1)).
func (b Backoff) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Max
	if attempt < 40 {
		if exp := b.Base << (attempt - 1); exp > 0 && exp < b.Max {
			d = exp
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// NextRetry implements river.ClientRetryPolicy.
func (b Backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(b.Delay(job.Attempt))
}
