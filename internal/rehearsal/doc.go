// Package rehearsal holds a test of what the project promises a maintainer
// who grows the contract: in a copy of the tree, an operation, a field and
// an enum value are added to openapi.yaml and `make generate` is run,
// nothing else; the tree must build, and the new operation must be callable
// through wrapper.Client.API() with every policy of the wrapper. The
// package has no code of its own.
package rehearsal
