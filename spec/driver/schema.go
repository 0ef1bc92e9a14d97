package driver

import (
	"bytes"
	_ "embed"
)

//go:embed protocol.schema.json
var protocolSchema []byte

// ProtocolSchema is protocol.schema.json, the JSON Schema (draft 2020-12)
// of every line of the protocol: a validator compiles it to check what an
// adapter writes (sockspec run --validate-protocol). This package only
// carries it, so that it stays free of a schema library.
func ProtocolSchema() []byte { return bytes.Clone(protocolSchema) }
