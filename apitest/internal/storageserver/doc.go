// Package storageserver holds the generated server side of the contract's
// Storage operations (tag "Storage Files"): the ServerInterface that package
// apitest implements under /storage, its routing, and the embedded part of
// openapi.yaml that apitest validates Storage traffic against. The Export
// operations are in package exportserver; the two are apart because they
// live under different base URLs.
//
// The code is regenerated from openapi.yaml with `make generate`, which runs the
// line below; gen/storage-server.yaml holds the generator's configuration.
package storageserver

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../../gen/storage-server.yaml ../../../openapi.yaml
