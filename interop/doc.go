// Package interop holds the tests of the download path against Azurite,
// Microsoft's Azure Storage emulator: `make interop` starts it, uploads
// blobs with SAS URLs made by the Azure SDK, and runs them (build tag
// interop). It has no code of its own.
package interop
