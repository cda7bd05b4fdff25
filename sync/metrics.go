package sync

import "github.com/riverqueue/river/rivertype"

// Metrics are the engine's Prometheus collectors.
type Metrics struct{}

// middleware is the engine's River middleware (job metrics and logging).
func (e *Engine) middleware() []rivertype.Middleware { return nil }

// observePosting counts one posting attempt's outcome (succeeded, retry, dead) and error class.
func (e *Engine) observePosting(kind, outcome, class string) {}

// observeInbound counts one inbound webhook or notification by source and signature verdict.
func (e *Engine) observeInbound(source, verdict string, duplicate bool) {}
