package redisbudget_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/itwin-export/itwin-export/redisbudget"
)

// redisServer is a redis-server of a test's own: on a loopback port, in
// memory, stopped by its pid.
type redisServer struct {
	cmd  *exec.Cmd
	Addr string
	bin  string
	port int
}

// startRedis starts redis-server for t. Without it the test is skipped,
// except under CI=true, where it fails: CI installs it (.ci/run).
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (CI installs the Debian package redis-server)")
		}
		t.Skip("redis-server is not installed")
	}
	return startRedisOn(t, bin, freePort(t))
}

// startRedisOn starts the redis-server bin on port.
func startRedisOn(t testing.TB, bin string, port int) *redisServer {
	t.Helper()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &redisServer{cmd: cmd, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, port: port}
	t.Cleanup(s.Stop)
	// Ready when it says so on stdout.
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			go func() {
				for sc.Scan() {
				}
			}()
			return s
		}
	}
	t.Fatalf("redis-server on port %d ended before it was ready", port)
	return nil
}

// Stop kills the server by its pid and reaps it; stopping twice is harmless.
func (s *redisServer) Stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Restart starts a new server on the same port.
func (s *redisServer) Restart(t testing.TB) *redisServer {
	t.Helper()
	s.Stop()
	return startRedisOn(t, s.bin, s.port)
}

// URL is the server's redis:// URL.
func (s *redisServer) URL() string { return "redis://" + s.Addr }

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newClient is a client of url for the Limiter, closed at the end of t.
func newClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	c, err := redisbudget.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
