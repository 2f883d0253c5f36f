package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
)

// jsonFlags registers --json, whose usage says what it writes, and --jq,
// which filters that JSON.
func (f *flags) jsonFlags(p *bool, usage string) {
	f.BoolVar(p, "json", false, usage)
	f.String("jq", "", "filter the JSON output with the jq `EXPR` and print each result as 'jq -r' does (implies --json)")
}

// useJQ compiles the command's --jq expression, if any, into the output
// filter and turns --json on. An expression that does not compile is a
// usage error: nothing is sent.
func (a *app) useJQ(cmd *cobra.Command) error {
	fl := cmd.Flags().Lookup("jq")
	if fl == nil || !fl.Changed {
		return nil
	}
	q, err := gojq.Parse(fl.Value.String())
	if err != nil {
		return flagErrorf("--jq: %v", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return flagErrorf("--jq: %v", err)
	}
	a.out.jq = code
	return cmd.Flags().Set("json", "true")
}

// writeJQ runs the --jq expression on the JSON document doc and writes
// each result as 'jq -r' does: a string bare, anything else as compact
// JSON, one a line. An expression that fails on the document is a usage
// error.
func writeJQ(w io.Writer, code *gojq.Code, doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	var out bytes.Buffer
	iter := code.Run(v)
	for {
		r, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := r.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break
			}
			return flagErrorf("--jq: %v", err)
		}
		if s, isString := r.(string); isString {
			out.WriteString(s)
		} else {
			b, err := gojq.Marshal(r)
			if err != nil {
				return flagErrorf("--jq: %v", err)
			}
			out.Write(b)
		}
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}
