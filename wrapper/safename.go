package wrapper

import "strings"

// windowsDevices are the names Windows resolves to a device in any
// directory, whatever the extension and the case: "nul.ifc" is NUL. The
// superscript digits count as digits there too.
var windowsDevices = func() map[string]bool {
	m := map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true}
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³"} {
		m["COM"+d] = true
		m["LPT"+d] = true
	}
	return m
}()

// isWindowsDevice reports whether Windows would take name for a device:
// the part before its first dot, trailing spaces ignored, is a device name
// in any case.
func isWindowsDevice(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	return windowsDevices[strings.ToUpper(strings.TrimRight(stem, " "))]
}

// safeLeading gives a name that Windows would take for a device, or that a
// command line would take for an option (a leading '-'), a safe form: an
// underscore in front ("CON.ifc" becomes "_CON.ifc", "--help" "_--help").
func safeLeading(name string) string {
	if strings.HasPrefix(name, "-") || isWindowsDevice(name) {
		return "_" + name
	}
	return name
}
