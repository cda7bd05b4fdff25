//go:build tools

// Package tools pins the code generators the project runs, so `go run` uses the versions in go.mod.
package tools

import (
	_ "github.com/99designs/gqlgen"
)
