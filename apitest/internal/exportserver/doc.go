// Package exportserver holds the generated server side of the contract: the
// ServerInterface that package apitest implements, its routing into a
// net/http ServeMux, and the embedded openapi.yaml that apitest validates
// traffic against. It is internal so that programs which import api or wrapper
// never link server or spec-parsing code.
//
// The code is regenerated from openapi.yaml with `make generate`, which runs the
// line below; gen/server.yaml holds the generator's configuration.
package exportserver

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../../../gen/server.yaml ../../../openapi.yaml
