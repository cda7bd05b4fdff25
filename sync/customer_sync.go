package sync

// registerCustomerSync adds the customer synchronisation jobs.
func (e *Engine) registerCustomerSync(r *registry) {}
