//go:build tools

// Package itwinexport pins the code generator used by `make generate`, so that
// go.mod records its exact version and `go run` needs no separate install.
package itwinexport

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
