package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper"
)

// Environment variables the command reads.
const (
	envAPIURL       = "ITWIN_API_URL"
	envAccessToken  = "ITWIN_ACCESS_TOKEN"
	envClientID     = "ITWIN_CLIENT_ID"
	envClientSecret = "ITWIN_CLIENT_SECRET"
	envTokenURL     = "ITWIN_TOKEN_URL"
	envStorageURL   = "ITWIN_STORAGE_URL"
	envAuthorizeURL = "ITWIN_AUTHORIZE_URL"
	envRedisURL     = "ITWIN_REDIS_URL" // see redis.go
	// envIModelID is the iModel of connections and connection create
	// when --imodel is not given, and of completion.
	envIModelID = "ITWIN_IMODEL_ID"
	// envXDGConfigHome and envHome locate the session login saves.
	envXDGConfigHome = "XDG_CONFIG_HOME"
	envHome          = "HOME"
)

// userAgent is sent with every request of the command.
const userAgent = "itwin-export-cli"

// clientFlags are the flags of every command that calls the API. A command
// embeds them, which makes it bounded by --timeout.
type clientFlags struct {
	apiURL  string
	token   string
	verbose bool
	timeout time.Duration
	// perMinute is the client's request budget (run only; 0: none).
	perMinute int
	// redisURL shares the budget and the 429 pause (redis.go).
	redisURL string
}

// add registers the flags on fs.
func (c *clientFlags) add(fs *flags) {
	fs.StringVar(&c.apiURL, "api-url", "", "`URL` of the Export API (default $"+envAPIURL+" or "+wrapper.DefaultBaseURL+")")
	fs.StringVar(&c.token, "token", "", "bearer `TOKEN` to use as is (default $"+envAccessToken+")")
	fs.BoolVar(&c.verbose, "verbose", false, "log every HTTP exchange with the API, Storage and the blob store to stderr, not token requests (tokens and SAS signatures redacted)")
	fs.DurationVar(&c.timeout, "timeout", 0, "give up after `DURATION` (for example 30s) with exit 5, token requests included (default none: each exchange has its own limits; run --authorize waits for you at most 5m)")
	c.addRedis(fs)
}

// deadline is --timeout; 0 means none.
func (c *clientFlags) deadline() time.Duration { return c.timeout }

// check returns a usage error for impossible values.
func (c *clientFlags) check() error {
	switch {
	case c.timeout < 0:
		return flagErrorf("--timeout must not be negative")
	case c.perMinute < 0:
		return flagErrorf("--requests-per-minute must not be negative")
	}
	return nil
}

// credentials are what resolveCredentials chose.
type credentials struct {
	source  oauth2.TokenSource
	secrets []string // for Options.Secrets: redacted from every output from the start
	from    string   // where they came from, for --verbose
}

// resolveCredentials picks the credentials, first match wins: the token
// (--token, else ITWIN_ACCESS_TOKEN), then the service app (ITWIN_CLIENT_ID
// with ITWIN_CLIENT_SECRET), then the session saved by login. None, or
// credentials that cannot work, is a usage error saying what to set or run.
// Token requests are bounded by the context of the API request that needs
// the token (the client passes it).
func (a *app) resolveCredentials(cf *clientFlags) (credentials, error) {
	token, from := cf.token, "--token"
	if token == "" {
		token, from = a.getenv(envAccessToken), envAccessToken
	}
	id, secret := a.getenv(envClientID), a.getenv(envClientSecret)
	switch {
	case token != "":
		if err := checkToken(token); err != nil {
			return credentials{}, err
		}
		from += " (a token used as is)"
		if id != "" || secret != "" {
			from += "; " + envClientID + " and " + envClientSecret + " are not used"
		}
		return credentials{source: wrapper.StaticToken(token), secrets: []string{token}, from: from}, nil
	case id == "" && secret != "":
		return credentials{}, usagef("%s is set but %s is not: set both for a service app, or set %s", envClientSecret, envClientID, envAccessToken)
	case id != "" && secret != "":
		tokenURL := cmp.Or(a.getenv(envTokenURL), wrapper.DefaultTokenURL)
		src, err := wrapper.ClientCredentials(id, secret, tokenURL)
		if err != nil {
			return credentials{}, usagef("%s: %v", envTokenURL, err)
		}
		return credentials{source: src, secrets: src.Secrets(),
			from: "client credentials of the service app " + envClientID + " (tokens from " + tokenURL + ")"}, nil
	}
	return a.sessionCredentials(id != "")
}

// checkToken refuses a token that cannot be a bearer token: blank, or
// holding control characters (a pasted line break). The token is not
// repeated in the message.
func checkToken(token string) error {
	if strings.TrimSpace(token) == "" {
		return usagef("the token (--token or %s) is blank", envAccessToken)
	}
	if strings.IndexFunc(token, unicode.IsControl) >= 0 {
		return usagef("the token (--token or %s) holds a control character (a line break?)", envAccessToken)
	}
	return nil
}

// connect builds the wrapper client from the flags and the environment. A
// configuration that cannot work is a usage error. From here on, the
// client redacts everything the command prints.
func (a *app) connect(ctx context.Context, cf *clientFlags) (*wrapper.Client, error) {
	if err := cf.check(); err != nil {
		return nil, err
	}
	if a.newClient != nil {
		c, err := a.newClient(ctx, cf)
		if err == nil {
			a.out.use(c)
		}
		return c, err
	}
	creds, err := a.resolveCredentials(cf)
	if err != nil {
		return nil, err
	}
	base := cf.apiURL
	if base == "" {
		base = a.getenv(envAPIURL)
	}
	if base == "" {
		base = wrapper.DefaultBaseURL
	}
	opts := wrapper.Options{BaseURL: base, StorageURL: a.getenv(envStorageURL), UserAgent: userAgent,
		TokenSource: creds.source, Secrets: creds.secrets}
	if cf.verbose {
		fmt.Fprintf(a.stderr, "itwin-export: credentials: %s\n", creds.from)
		opts.Logger = a.verboseLogger()
	}
	if cf.perMinute > 0 {
		opts.Budget = wrapper.RateBudget{Requests: cf.perMinute, Per: time.Minute}
	}
	if err := a.shareBudget(ctx, cf, &opts); err != nil {
		return nil, err
	}
	c, err := wrapper.New(opts)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	a.out.use(c)
	return c, nil
}
