package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// deadRedisURL is a Redis URL with a password on a loopback port nothing
// listens on.
func deadRedisURL(t *testing.T, password string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return "redis://:" + password + "@127.0.0.1:" + strconv.Itoa(port) + "/0"
}

// TestRedisURL_UnreachableFallsBackWithOneLine: every command that calls the
// API takes --redis-url (or ITWIN_REDIS_URL); a Redis that cannot be
// reached costs one line on stderr, and the command does its work.
func TestRedisURL_UnreachableFallsBackWithOneLine(t *testing.T) {
	const password = "redis-pass-9f8e7d6c"
	s := newFake(t, fastOpts())
	for _, viaEnv := range []bool{false, true} {
		env := envFor(s.URL)
		args := []string{"connection", "create", "--imodel", "m1", "--verbose"}
		if viaEnv {
			env[envRedisURL] = deadRedisURL(t, password)
		} else {
			args = append(args, "--redis-url", deadRedisURL(t, password))
		}
		r := runIn(t, env, args...)
		wantCode(t, r, 0)
		if n := strings.Count(r.stderr, "Redis cannot be reached"); n != 1 {
			t.Errorf("env %v: %d lines say Redis cannot be reached, want 1:\n%s", viaEnv, n, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("env %v: the Redis password is shown:\n%s%s", viaEnv, r.stdout, r.stderr)
		}
	}
}

// TestRedisURL_Invalid: a Redis URL that cannot work is a usage error that
// sends nothing and never repeats the password.
func TestRedisURL_Invalid(t *testing.T) {
	const password = "redis-pass-1a2b3c4d"
	s := newFake(t, fastOpts())
	for _, u := range []string{
		"http://:" + password + "@127.0.0.1:6379",
		"redis://:" + password + "@127.0.0.1:port",
		"redis://:" + password + "@127.0.0.1:6379/notadb",
		password,
	} {
		r := runIn(t, envFor(s.URL), "connections", "--imodel", "m1", "--redis-url", u)
		wantCode(t, r, 2)
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("the Redis password is shown:\n%s%s", r.stdout, r.stderr)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("the fake received %d requests, want none", n)
	}
}
