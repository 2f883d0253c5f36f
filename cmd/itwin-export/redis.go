package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/itwin-export/itwin-export/internal/redislimit"
	"github.com/itwin-export/itwin-export/wrapper"
)

// addRedis registers --redis-url: every command that calls the API takes it.
func (c *clientFlags) addRedis(fs *flags) {
	fs.StringVar(&c.redisURL, "redis-url", "", "share the request budget and the 429 pause with every process of the same client id through the Redis at `URL` (redis://[:PASSWORD@]HOST:PORT[/DB], rediss:// for TLS; default $"+envRedisURL+")")
}

// shareBudget moves the client's budget and 429 pause to Redis when
// --redis-url (or ITWIN_REDIS_URL) names one: opts.Budget becomes the
// shared budget, keyed by the client id (for a token used as is, the API's
// host). A Redis that cannot be reached falls back to the process's own
// budget with one line on stderr. The URL's password is a secret: scrubbed
// from every output, never in an error.
func (a *app) shareBudget(ctx context.Context, cf *clientFlags, opts *wrapper.Options) error {
	raw := cf.redisURL
	if raw == "" {
		raw = a.getenv(envRedisURL)
	}
	if raw == "" {
		return nil
	}
	opts.Secrets = append(opts.Secrets, redisSecrets(raw)...)
	rdb, err := redislimit.NewClient(raw)
	if err != nil {
		return usagef("--redis-url (or %s): %v", envRedisURL, err)
	}
	context.AfterFunc(ctx, func() { _ = rdb.Close() })
	// go-redis logs to stderr on its own; the limiter's one line is enough.
	redis.SetLogger(quietRedis{})
	lim, err := redislimit.New(redislimit.Config{
		Client: rdb,
		App:    redislimit.AppKey(a.getenv(envClientID), opts.BaseURL),
		Budget: opts.Budget,
		Logger: slog.New(lineHandler{filterWriter{&a.out, a.stderr}}),
	})
	if err != nil {
		return usagef("--redis-url: %v", err)
	}
	opts.Budget, opts.Limiter = wrapper.RateBudget{}, lim
	return nil
}

// redisSecrets are the password of a Redis URL, wherever it is written.
func redisSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	} else if u.User != nil && u.User.Username() != "" {
		out = append(out, u.User.Username())
	}
	if p := u.Query().Get("password"); p != "" {
		out = append(out, p)
	}
	return out
}

// lineHandler writes the limiter's warnings as one plain stderr line each:
// "itwin-export: MESSAGE (ERR)".
type lineHandler struct{ w io.Writer }

// Enabled is true for warnings and above.
func (lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle writes the record's line.
func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	line := "itwin-export: " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " (" + a.Value.String() + ")"
		return true
	})
	_, err := io.WriteString(h.w, line+"\n")
	return err
}

// WithAttrs is h: the limiter adds none.
func (h lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup is h: the limiter adds none.
func (h lineHandler) WithGroup(string) slog.Handler { return h }

// quietRedis drops go-redis's own log lines.
type quietRedis struct{}

// Printf drops the line.
func (quietRedis) Printf(context.Context, string, ...any) {}
