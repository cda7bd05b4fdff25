package sync

import "github.com/riverqueue/river/rivertype"

// middleware is the engine's River middleware (job metrics and logging).
func (e *Engine) middleware() []rivertype.Middleware { return nil }
