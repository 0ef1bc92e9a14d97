// Package protoschema checks what an adapter writes against the JSON
// Schema of the protocol (spec/driver/protocol.schema.json), with a JSON
// Schema library that spec/driver, kept to the standard library, cannot
// import. sockspec run --validate-protocol sets it as the decoder's Check.
package protoschema

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sockspec/sockspec/spec/driver"
)

// schemaURL names the schema inside the compiler; it is the schema's $id.
const schemaURL = "https://github.com/sockspec/sockspec/spec/driver/protocol.schema.json"

// messageTypes are the kinds of line an adapter writes, each a $defs
// entry: a line is checked against the definition its type names, so
// that an error says what is wrong with a hello, not that it is none of
// four kinds of message.
var messageTypes = []string{driver.TypeHello, driver.TypeReply, driver.TypeEvent, driver.TypeOutput}

// Validator checks adapter messages against the protocol's schema.
type Validator struct {
	message *jsonschema.Schema            // any message
	byType  map[string]*jsonschema.Schema // one kind of message
}

// New compiles the schema that spec/driver carries.
func New() (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(driver.ProtocolSchema()))
	if err != nil {
		return nil, fmt.Errorf("protoschema: protocol.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("protoschema: %w", err)
	}
	v := &Validator{byType: map[string]*jsonschema.Schema{}}
	if v.message, err = c.Compile(schemaURL + "#/$defs/message"); err != nil {
		return nil, fmt.Errorf("protoschema: %w", err)
	}
	for _, t := range messageTypes {
		if v.byType[t], err = c.Compile(schemaURL + "#/$defs/" + t); err != nil {
			return nil, fmt.Errorf("protoschema: %w", err)
		}
	}
	return v, nil
}

// Default is the validator of the schema, compiled once.
var Default = sync.OnceValues(New)

// Check validates one line an adapter wrote. Its error says, in one
// line, where the message breaks the schema and how.
func (v *Validator) Check(line []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	sch := v.message
	if obj, ok := inst.(map[string]any); ok {
		if t, ok := obj["type"].(string); ok && v.byType[t] != nil {
			sch = v.byType[t]
		}
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var leaves []string
	for _, l := range leavesOf(ve) {
		leaves = append(leaves, l.Error())
	}
	return fmt.Errorf("breaks protocol.schema.json: %s", strings.Join(leaves, "; "))
}

// leavesOf are the innermost errors of e: what is wrong, not the schema
// keywords that led there.
func leavesOf(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leavesOf(c)...)
	}
	return out
}
