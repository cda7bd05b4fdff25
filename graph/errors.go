package graph

import "github.com/payhub/payhub/graph/model"

// badInput reports a client mistake; see model.InputError.
var badInput = model.BadInput
