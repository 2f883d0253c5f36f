package wrapper

// Version is the semantic version of this module (without the leading "v"
// of its tag), the latest entry of CHANGELOG.md. It is sent in the default
// User-Agent, "itwin-export-go/" + Version, so the service can tell
// releases apart.
const Version = "0.1.0"
