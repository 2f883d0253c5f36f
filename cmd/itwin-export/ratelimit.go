package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rateLimitFlag is fake-server's --rate-limit N/DURATION.
type rateLimitFlag struct {
	n   int
	per time.Duration
}

// String is the flag's value as given.
func (f *rateLimitFlag) String() string {
	if f.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%s", f.n, f.per)
}

// Set parses N/DURATION: N positive, DURATION a positive Go duration.
func (f *rateLimitFlag) Set(v string) error {
	n, per, ok := strings.Cut(v, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count <= 0 {
		return errors.New("want N/DURATION, for example 500/1m, N a positive number")
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return errors.New("want N/DURATION, for example 500/1m, DURATION positive (1m, 10s)")
	}
	f.n, f.per = count, d
	return nil
}

// Type names the flag's value in help: pflag.Value.
func (f *rateLimitFlag) Type() string { return "limit" }
