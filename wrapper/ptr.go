package wrapper

// Ptr returns a pointer to a copy of v. The optional fields of the request
// types of package api are pointers, nil meaning absent; Ptr sets one in a
// composite literal:
//
//	req := api.ExportConnectionRunCreate{
//		ExportType: api.ExportTypeIFC,
//		IFCVersion: wrapper.Ptr(api.IFCVersionIFC43),
//	}
func Ptr[T any](v T) *T {
	return &v
}
